#!/usr/bin/python3
"""compose_words.py — word-list sentences for the multilingual synthetic corpus.

The multilingual base model is trained on speech that `synth` makes from
data/text/<iso3>.txt.  For most languages we have no hand-written sentences,
so this script composes them from a Debian dictionary word list: random
words (no grammar), 3..9 per sentence, one sentence per line, under a
comment header that names the source package and its licence.  What the
model must learn is how letters sound in that language, which needs many
distinct words in varied contexts rather than grammar.

    python3 tools/text/compose_words.py ita 2000 > data/text/ita.txt
    python3 tools/text/compose_words.py --list          # known languages

Word sources (per language, see LANGS below):
  aspell:XX      `aspell -d XX dump master`, affixes expanded with
                 `aspell -l XX expand` (the expansions are all kept)
  hunspell:PATH  a hunspell .dic (count on line 1, `/FLAGS` stripped;
                 stems only, no affix expansion; encoding from the .aff's SET)
  list:PATH      a plain one-word-per-line list (/usr/share/dict/...)

Filter: NFC; only lowercase words made entirely of the language's own
letters (so no capitals = proper nouns, no digits, apostrophes, hyphens or
dots); 2..12 code points.  Composition: a fixed-seed random.Random; half of
the words come from the 40% shortest (function-word-like tokens stay
common), the rest from the whole list; a sentence is grown until it reaches
a length drawn from the language's range (code points) and is kept only if
it has 3..9 words, fits the range and was not composed before.  The first
letter is capitalised and a final period added; no other punctuation.

The ranges are shorter for scripts that take 2 or 3 bytes per letter in
UTF-8, so that 2,000 sentences stay below ~250 KB.

Python 3 standard library only; the output depends only on the word list,
the language and the count (seed fixed, --seed to change it).
"""
import argparse
import os
import random
import subprocess
import sys
import unicodedata


def rng_chars(a, b):
    return "".join(chr(c) for c in range(ord(a), ord(b) + 1))


LATIN = rng_chars("a", "z")
RU = rng_chars("а", "я") + "ё"
# Bulgarian: no ё, ы, э
BG = "".join(c for c in rng_chars("а", "я") if c not in "ыэ")
# Ukrainian: no ё, ъ, ы, э; adds ґ, є, і, ї
UK = "".join(c for c in rng_chars("а", "я") if c not in "ъыэ") + "ґєії"
# Greek lowercase with tonos and dialytika (monotonic)
EL = "".join(c for c in rng_chars("α", "ω") if c != "\u03a2") + "άέήίόύώϊϋΐΰ"


def block(lo, hi, skip=()):
    out = []
    for c in range(lo, hi + 1):
        ch = chr(c)
        if c in skip or unicodedata.category(ch) in ("Cn", "Nd", "No", "Po", "So", "Sc"):
            continue
        out.append(ch)
    return "".join(out)


# Devanagari letters, vowel signs, virama, nukta, candrabindu/anusvara/visarga;
# no digits, no danda (U+0964/5), no abbreviation sign (U+0970)
DEVA = block(0x0900, 0x097F, skip=(0x0964, 0x0965, 0x0970, 0x0971))
# Tamil letters, vowel signs, pulli, aytham; no digits/number signs
TAML = block(0x0B80, 0x0BFF)

# iso3: (word source, Debian package, its licence for that list (the Files: stanza of
# /usr/share/doc/<pkg>/copyright that covers it), letters, (min, max) code points per sentence, name)
LANGS = {
    "ita": ("list:/usr/share/dict/italian", "witalian", "GPL-3+", LATIN + "àèéìíîòóù", (60, 110), "Italian"),
    "por": ("list:/usr/share/dict/portuguese", "wportuguese", "GPL-2+ or LGPL-2.1+ or MPL-1.1", LATIN + "áâãàçéêíóôõú", (60, 110), "Portuguese"),
    "deu": ("list:/usr/share/dict/ngerman", "wngerman", "GPL-2+", LATIN + "äöüß", (60, 110), "German"),
    "pol": ("list:/usr/share/dict/polish", "wpolish", "GPL-2 or LGPL-2.1 or MPL-1.1 or Apache-2.0 or CC-BY-4.0", "".join(c for c in LATIN if c not in "qvx") + "ąćęłńóśźż",
            (60, 110), "Polish"),
    "ces": ("hunspell:/usr/share/hunspell/cs_CZ.dic", "hunspell-cs", "GPL-2", LATIN + "áčďéěíňóřšťúůýž", (60, 110), "Czech"),
    "ron": ("hunspell:/usr/share/hunspell/ro_RO.dic", "hunspell-ro", "GPL-2 or LGPL-2.1 or MPL-1.1", LATIN + "ăâîșț", (60, 110), "Romanian"),
    "rus": ("hunspell:/usr/share/hunspell/ru_RU.dic", "hunspell-ru", "custom-bsd-4-clauses", RU, (40, 80), "Russian"),
    "bul": ("list:/usr/share/dict/bulgarian", "wbulgarian", "GPL-2", BG, (40, 80), "Bulgarian"),
    "ukr": ("list:/usr/share/dict/ukrainian", "wukrainian", "GPL-2+ or LGPL-2+", UK, (40, 80), "Ukrainian"),
    "ell": ("hunspell:/usr/share/hunspell/el_GR.dic", "hunspell-el", "MPL-1.1 or GPL-2 or LGPL-2.1", EL, (40, 80), "Greek"),
    "hin": ("aspell:hi", "aspell-hi", "GPL-2", DEVA, (25, 50), "Hindi"),
    "tam": ("aspell:ta", "aspell-ta", "GPL-2+", TAML, (35, 70), "Tamil"),
}


def read_words(source):
    kind, _, arg = source.partition(":")
    if kind == "aspell":
        dump = subprocess.run(["aspell", "-d", arg, "dump", "master"], check=True, capture_output=True).stdout
        exp = subprocess.run(["aspell", "-l", arg, "expand"], input=dump, check=True,
                             capture_output=True).stdout
        words = []
        for line in exp.decode("utf-8", "replace").splitlines():
            words.extend(line.split())
        return words
    enc = "utf-8"
    if kind == "hunspell":   # the .aff's SET names the .dic's encoding (el_GR: ISO8859-7)
        try:
            with open(arg[:-4] + ".aff", "rb") as f:
                for line in f:
                    if line.startswith(b"SET "):
                        enc = line.split()[1].decode("ascii").lower().replace("iso8859", "iso-8859")
                        break
        except OSError:
            pass
    with open(arg, "rb") as f:
        lines = f.read().decode(enc, "replace").splitlines()
    if kind == "hunspell":
        if lines and lines[0].strip().isdigit():
            lines = lines[1:]
        return [ln.split("/", 1)[0].split("\t", 1)[0].strip() for ln in lines]
    if kind == "list":
        return [ln.strip() for ln in lines]
    raise SystemExit("unknown source kind: " + source)


def keep_words(raw, letters):
    allowed = set(unicodedata.normalize("NFC", letters))
    kept = set()
    for w in raw:
        w = unicodedata.normalize("NFC", w)
        if not 2 <= len(w) <= 12:
            continue
        if w != w.lower() or any(c not in allowed for c in w):
            continue
        kept.add(w)
    return sorted(kept)


def compose(words, n, lo, hi, seed):
    rnd = random.Random(seed)
    by_len = sorted(words, key=lambda w: (len(w), w))
    short = by_len[: max(1, int(len(by_len) * 0.4))]
    seen, out = set(), []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > n * 200:
            raise SystemExit("could not compose %d distinct sentences (got %d)" % (n, len(out)))
        target = rnd.randint(lo, hi)
        ws, length = [], -1
        while length < target and len(ws) < 9:
            w = rnd.choice(short) if rnd.random() < 0.5 else rnd.choice(words)
            ws.append(w)
            length += len(w) + 1
        if len(ws) < 3 or not lo <= length <= hi:
            continue
        s = " ".join(ws)
        if s in seen:
            continue
        seen.add(s)
        out.append(s[0].upper() + s[1:] + ".")
    return out


def pkg_version(pkg):
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, check=True)
        return r.stdout.decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lang", nargs="?")
    ap.add_argument("n", nargs="?", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--list", action="store_true", help="print the known languages and their sources")
    ap.add_argument("--stats", action="store_true", help="print words read/kept to stderr")
    a = ap.parse_args()
    if a.list or not a.lang:
        for k, v in LANGS.items():
            print("%s\t%s\t%s\t%s\t%s" % (k, v[5], v[1], v[0], v[2]))
        return
    if a.lang not in LANGS:
        raise SystemExit("unknown language %r (known: %s)" % (a.lang, ", ".join(LANGS)))
    source, pkg, licence, letters, (lo, hi), name = LANGS[a.lang]
    raw = read_words(source)
    words = keep_words(raw, letters)
    if len(words) < 100:
        raise SystemExit("%s: only %d words kept from %s" % (a.lang, len(words), source))
    sents = compose(words, a.n, lo, hi, a.seed * 1000003 + sum(map(ord, a.lang)))
    if a.stats:
        print("%s: %d words read, %d kept, %d sentences" % (a.lang, len(raw), len(words), len(sents)),
              file=sys.stderr)
    path = source.partition(":")[2]
    where = "`aspell -d %s dump master | aspell -l %s expand`" % (path, path) if source.startswith("aspell") \
        else path
    cmd = "python3 tools/text/compose_words.py %s %d" % (a.lang, a.n) + \
        ("" if a.seed == 14 else " --seed %d" % a.seed)
    w = sys.stdout.write
    w("# %s sentences for the synthetic corpus generator (tools/synth).\n" % name)
    w("# Composed by %s (fixed seed): %d..%d random words per sentence, %d..%d characters,\n"
      % (cmd, 3, 9, lo, hi))
    w("# half drawn from the 40%% shortest words; no grammar.  Words: %s from the Debian\n" % where)
    w("# package %s %s (licence: %s), %d lowercase words of 2..12 letters kept.\n"
      % (pkg, pkg_version(pkg), licence, len(words)))
    w("# See data/text/SOURCES.md.\n")
    for s in sents:
        w(s + "\n")


if __name__ == "__main__":
    main()
