# synth: where the installed binary looks for the sentence files (data/text).
CFLAGS += -DACCENT_SHARE_TEXT='"$(PREFIX)/share/accent/text"'
