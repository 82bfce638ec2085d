from setuptools import setup

# Metadata and options live in setup.cfg.  Listing twisted.plugins there installs the
# dropin module into Twisted's plugin directory; see README.rst for the cache.
setup()
