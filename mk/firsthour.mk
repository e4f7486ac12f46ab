# mk/firsthour.mk — Debian packages of the tests of the new-user items:
# sphinxbase-utils reads the ARPA files `train lm` writes (tests/arpa_sphinx.sh).
DEB_PKGS += sphinxbase-utils
