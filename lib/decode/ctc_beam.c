/*
 * ctc_beam.c — CTC prefix beam search with word-level n-gram scoring, and
 * greedy decoding (see ctc_beam.h for the scoring model).
 *
 * Hypotheses are nodes of a prefix tree that grows during one utterance
 * (an arena of nodes linked to their parent; children in sibling lists).  A
 * node caches everything that depends only on its text: the LM score of its
 * completed words, the LM context, and where its partial word stands in the
 * lexicon trie.  Per frame, the acoustic sums of the next frame are
 * accumulated in the nodes themselves (stamped with the frame number), so a
 * step costs O(beam x tokens tried) plus sorting the candidates.
 */
#define _GNU_SOURCE
#include "decode/ctc_beam.h"
#include "base/err.h"
#include "model/emit.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

#define LN10 2.302585092994045684

typedef struct bnode {
	int32_t parent;
	int32_t token;        /* -1 for the root */
	int32_t lex;          /* lexicon trie node of the partial word, -1 = outside the trie */
	int32_t plen;         /* tokens in the partial word (0 right after a delimiter) */
	int32_t state;        /* index of the LM context in the state pool */
	int32_t stamp;        /* frame whose next-sums nb/nnb belong to */
	double  lm;           /* LM + word bonus of the completed words (+ early unk penalty) */
	double  look;         /* LM look-ahead of the partial word (best unigram below its trie node) */
	double  pb, pnb;      /* log P(prefix, ends in blank / in a token) at the current frame */
	double  nb, nnb;      /* the same, being accumulated for the next frame */
	double  score;        /* total at the current frame, for sorting */
} bnode;

/* Lexicon trie over token ids: child lookup through one hash table keyed by
 * (node, token). */
typedef struct lex_trie {
	int32_t  n, cap;
	int32_t *word;        /* LM word id ending at node, -1 */
	float    *smear;       /* best unigram log10 p of the words below the node */
	uint64_t *keys;       /* (node << 32 | token) + 1, 0 = empty */
	int32_t  *vals;
	uint64_t  mask;
	int32_t   nwords;
} lex_trie;

struct ctc_decoder {
	const char *const *tokens;
	int         V, blank, delim;
	const arpa *lm;
	ctc_beam_opts o;
	lex_trie    trie;
	/* per utterance */
	bnode      *nodes; int32_t nn; size_t ncap;
	arpa_state *states; int32_t ns; size_t scap;
	int32_t    *beam, nbeam;
	int32_t    *cand, ncand; size_t candcap;
	int32_t    *order;      /* token order scratch */
	uint64_t   *ekeys;      /* prefix-tree edges: (parent << 32 | token) + 1, 0 = empty */
	int32_t    *evals;
	uint64_t    emask;
	int64_t     nedges;
	int         compactions; /* in the last decode */
};

void ctc_beam_defaults(ctc_beam_opts *o)
{
	*o = (ctc_beam_opts){ .beam = 16, .alpha = 0.5f, .beta = 1.0f, .top_k = 40, .cutoff_prob = 0.999f, .lexicon = 0,
			      .allow_unk = 1, .unk_penalty = -10.0f, .unk_char_penalty = -0.5f, .lookahead = 1,
			      .beam_prune = -10.0f, .max_nodes = 1 << 19 };
}

static inline double logadd(double a, double b)
{
	if (a == -INFINITY)
		return b;
	if (b == -INFINITY)
		return a;
	return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* ---- lexicon trie ---- */

static uint64_t trie_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

/* Edge maps: the lexicon trie's children and the prefix tree's children
 * are each one open-addressing table from (node << 32 | token) + 1 (0 = an
 * empty slot) to the child's id, kept at most half full by the callers. */
static uint64_t edge_key(int32_t node, int32_t tok)
{
	return (((uint64_t)(uint32_t)node << 32) | (uint32_t)tok) + 1;
}

static int32_t emap_get(const uint64_t *keys, const int32_t *vals, uint64_t mask, uint64_t key)
{
	for (uint64_t s = trie_hash(key) & mask;; s = (s + 1) & mask) {
		if (!keys[s])
			return -1;
		if (keys[s] == key)
			return vals[s];
	}
}

static void emap_put(uint64_t *keys, int32_t *vals, uint64_t mask, uint64_t key, int32_t val)
{
	uint64_t s = trie_hash(key) & mask;
	while (keys[s])
		s = (s + 1) & mask;
	keys[s] = key;
	vals[s] = val;
}

/* Move the entries (none when *keys is NULL) into a new table of `slots`
 * slots; what names the table in the out-of-memory message. */
static int emap_rehash(uint64_t **keys, int32_t **vals, uint64_t *mask, uint64_t slots, const char *what)
{
	uint64_t *k = calloc(slots, sizeof *k);
	int32_t *v = malloc(slots * sizeof *v);
	if (!k || !v) {
		free(k);
		free(v);
		return err_set(ACC_ENOMEM, "out of memory (%s)", what);
	}
	for (uint64_t i = 0; *keys && i <= *mask; i++)
		if ((*keys)[i])
			emap_put(k, v, slots - 1, (*keys)[i], (*vals)[i]);
	free(*keys);
	free(*vals);
	*keys = k;
	*vals = v;
	*mask = slots - 1;
	return 0;
}

static int32_t trie_child(const lex_trie *t, int32_t node, int32_t tok)
{
	return t->keys ? emap_get(t->keys, t->vals, t->mask, edge_key(node, tok)) : -1;
}

static int trie_add_node(lex_trie *t, int32_t *id)
{
	if (t->n == t->cap) {
		int32_t cap = t->cap ? t->cap * 2 : 1024;
		int32_t *w = realloc(t->word, (size_t)cap * sizeof *w);
		if (!w)
			return err_set(ACC_ENOMEM, "out of memory (lexicon)");
		t->word = w;
		float *sm = realloc(t->smear, (size_t)cap * sizeof *sm);
		if (!sm)
			return err_set(ACC_ENOMEM, "out of memory (lexicon)");
		t->smear = sm;
		t->cap = cap;
	}
	t->word[t->n] = -1;
	t->smear[t->n] = -INFINITY;
	*id = t->n++;
	return 0;
}

/* Insert the child (node, tok), returning its id. */
static int trie_insert(lex_trie *t, int32_t node, int32_t tok, int32_t *child)
{
	int32_t c = trie_child(t, node, tok);
	if (c >= 0) {
		*child = c;
		return 0;
	}
	int rc;
	if ((rc = trie_add_node(t, &c)))
		return rc;
	/* Keep the load factor under 1/2 (edges = nodes - 1). */
	if (!t->keys || (uint64_t)t->n * 2 > t->mask + 1)
		if ((rc = emap_rehash(&t->keys, &t->vals, &t->mask, t->keys ? (t->mask + 1) * 2 : 4096, "lexicon")))
			return rc;
	emap_put(t->keys, t->vals, t->mask, edge_key(node, tok), c);
	*child = c;
	return 0;
}

/* Spell word with the tokens (longest match first); 0 when some part of it
 * is no token. */
static int spell(const ctc_decoder *d, const char *w, int32_t *out, int cap, int *len)
{
	int n = 0;
	while (*w) {
		int best = -1;
		size_t bl = 0;
		for (int i = 0; i < d->V; i++) {
			const char *t = d->tokens[i];
			if (!t || i == d->blank || i == d->delim)
				continue;
			size_t l = strlen(t);
			if (l > bl && !strncmp(w, t, l)) {
				best = i;
				bl = l;
			}
		}
		if (best < 0 || n == cap)
			return 0;
		out[n++] = best;
		w += bl;
	}
	*len = n;
	return n > 0;
}

static int build_lexicon(ctc_decoder *d)
{
	int32_t root, sp[256];
	int rc, len;
	if ((rc = trie_add_node(&d->trie, &root)))
		return rc;
	for (int32_t w = 0; w < arpa_vocab_size(d->lm); w++) {
		if (w == arpa_bos(d->lm) || w == arpa_eos(d->lm) || w == arpa_unk(d->lm))
			continue;
		if (!spell(d, arpa_word(d->lm, w), sp, 256, &len))
			continue;
		float uni;
		if (!arpa_find(d->lm, 1, &w, &uni, NULL))
			uni = -99;
		int32_t node = root;
		for (int i = 0; i < len; i++) {
			if ((rc = trie_insert(&d->trie, node, sp[i], &node)))
				return rc;
			if (uni > d->trie.smear[node])
				d->trie.smear[node] = uni;
		}
		if (d->trie.word[node] < 0)
			d->trie.nwords++;
		d->trie.word[node] = w;
	}
	return 0;
}

int ctc_decoder_lexicon_words(const ctc_decoder *d) { return d->trie.nwords; }
int ctc_decoder_compactions(const ctc_decoder *d) { return d->compactions; }

/* ---- decoder ---- */

int ctc_decoder_new(ctc_decoder **out, const char *const *tokens, int n_tokens, int blank, int delim,
		    const arpa *lm, const ctc_beam_opts *opts)
{
	ctc_beam_opts o;
	int rc;
	*out = NULL;
	if (opts)
		o = *opts;
	else
		ctc_beam_defaults(&o);
	if (n_tokens < 1 || blank < 0 || blank >= n_tokens || delim >= n_tokens || delim == blank)
		return err_set(ACC_EINVAL, "bad CTC token inventory: %d tokens, blank %d, delimiter %d", n_tokens, blank, delim);
	if (o.max_nodes < 1024)
		o.max_nodes = 1024;
	if (o.beam < 1 || o.beam > 100000)
		return err_set(ACC_EINVAL, "beam width %d out of range 1..100000", o.beam);
	if (!(o.beam_prune <= 0) || !(o.unk_char_penalty <= 0) || !(o.unk_penalty <= 0) || o.top_k < 0 || !(o.cutoff_prob > 0) || o.cutoff_prob > 1 || !isfinite(o.alpha) || !isfinite(o.beta))
		return err_set(ACC_EINVAL, "bad beam search options (top_k %d, cutoff_prob %g)", o.top_k, o.cutoff_prob);
	if (o.lexicon && !lm)
		return err_set(ACC_EINVAL, "a lexicon-constrained search needs a language model (its vocabulary is the lexicon)");
	ctc_decoder *d = calloc(1, sizeof *d);
	if (!d)
		return err_set(ACC_ENOMEM, "out of memory");
	*d = (struct ctc_decoder){ .tokens = tokens, .V = n_tokens, .blank = blank, .delim = delim, .lm = lm, .o = o };
	d->order = malloc((size_t)n_tokens * sizeof *d->order);
	if (!d->order) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto fail;
	}
	if (lm && (rc = build_lexicon(d)))
		goto fail;
	*out = d;
	return 0;
fail:
	ctc_decoder_free(d);
	return rc;
}

void ctc_decoder_free(ctc_decoder *d)
{
	if (!d)
		return;
	free(d->trie.word);
	free(d->trie.smear);
	free(d->trie.keys);
	free(d->trie.vals);
	free(d->nodes);
	free(d->states);
	free(d->beam);
	free(d->cand);
	free(d->order);
	free(d->ekeys);
	free(d->evals);
	free(d);
}

static int new_node(ctc_decoder *d, int32_t *id)
{
	if (d->nn == INT32_MAX)
		return err_set(ACC_ENOMEM, "beam search prefix tree too large");
	if (ARRAY_GROW(d->nodes, d->ncap, (size_t)d->nn + 1))
		return err_set(ACC_ENOMEM, "out of memory (beam search)");
	bnode *n = &d->nodes[d->nn];
	memset(n, 0, sizeof *n);
	n->parent = -1;
	n->token = -1;
	n->stamp = -1;
	n->pb = n->pnb = n->nb = n->nnb = -INFINITY;
	*id = d->nn++;
	return 0;
}

static int new_state(ctc_decoder *d, const arpa_state *s, int32_t *id)
{
	if (ARRAY_GROW(d->states, d->scap, (size_t)d->ns + 1))
		return err_set(ACC_ENOMEM, "out of memory (beam search)");
	d->states[d->ns] = *s;
	*id = d->ns++;
	return 0;
}

/* 1 when completing the partial word of n is forbidden (strict lexicon and
 * the partial word is no vocabulary word). */
static int word_forbidden(const ctc_decoder *d, const bnode *n)
{
	return d->o.lexicon && !d->o.allow_unk && (n->lex < 0 || d->trie.word[n->lex] < 0);
}

/* LM + bonus for completing the partial word of node n (plen > 0); the LM
 * context after it goes to *st. */
static double word_end_score(ctc_decoder *d, const bnode *n, arpa_state *st)
{
	const arpa_state *in = &d->states[n->state];
	if (!d->lm) {
		*st = *in;
		return d->o.beta;
	}
	int32_t w = n->lex >= 0 ? d->trie.word[n->lex] : -1;
	double l10;
	if (w >= 0) {
		l10 = arpa_score(d->lm, in, w, st);
	} else {
		/* Unknown word: the LM's <unk> (if any) plus the penalty, unless it
		 * was charged when the partial word left the trie. */
		l10 = arpa_unk(d->lm) >= 0 ? arpa_score(d->lm, in, -1, st) : (arpa_state_null(st), 0.0);
		if (n->lex >= 0)
			l10 += d->o.unk_penalty;
	}
	return d->o.alpha * LN10 * l10 + d->o.beta;
}

/* Prefix-tree edges (parent, token) -> child in one open-addressing table,
 * cleared per utterance. */
static int32_t edge_find(const ctc_decoder *d, int32_t p, int32_t c)
{
	return emap_get(d->ekeys, d->evals, d->emask, edge_key(p, c));
}

static int edge_add(ctc_decoder *d, int32_t p, int32_t c, int32_t child)
{
	int rc;
	if ((uint64_t)(d->nedges + 1) * 2 > d->emask + 1)
		if ((rc = emap_rehash(&d->ekeys, &d->evals, &d->emask, (d->emask + 1) * 2, "beam search")))
			return rc;
	emap_put(d->ekeys, d->evals, d->emask, edge_key(p, c), child);
	d->nedges++;
	return 0;
}

/* The child of node p for token c, created on first use; -1 when the lexicon
 * forbids it.  Returns a negative error code only on allocation failure. */
static int extend(ctc_decoder *d, int32_t p, int32_t c, int32_t *child)
{
	int32_t k = edge_find(d, p, c);
	if (k >= 0) {
		*child = k;
		return 0;
	}
	const bnode *par = &d->nodes[p];
	double lm = par->lm;
	int32_t lex, plen, state = par->state;
	if (c == d->delim) {
		arpa_state st;
		if (word_forbidden(d, par)) {
			*child = -1;
			return 0;
		}
		lm += word_end_score(d, par, &st);
		int rc = new_state(d, &st, &state);
		if (rc)
			return rc;
		lex = 0;
		plen = 0;
	} else {
		lex = par->lex >= 0 && d->lm ? trie_child(&d->trie, par->lex, c) : -1;
		plen = par->plen + 1;
		/* Leaving the trie: no vocabulary word starts like this.  Charge
		 * the unknown-word penalty now (as pyctcdecode does), so that the
		 * search cannot dodge word-end LM costs by gluing words together. */
		if (d->lm && lex < 0 && par->lex >= 0) {
			if (d->o.lexicon && !d->o.allow_unk) {
				*child = -1;
				return 0;
			}
			lm += d->o.alpha * LN10 * d->o.unk_penalty;
		}
		/* Every character of an unknown word costs unk_char_penalty (a
		 * crude spelling model): without it, one long glued "word"
		 * would pay less than the words it swallowed. */
		if (d->lm && lex < 0)
			lm += d->o.alpha * LN10 * d->o.unk_char_penalty;
	}
	int32_t id;
	int rc = new_node(d, &id);
	if (rc)
		return rc;
	bnode *n = &d->nodes[id];
	par = &d->nodes[p];   /* realloc may have moved it */
	n->parent = p;
	n->token = c;
	n->lex = lex;
	n->plen = plen;
	n->state = state;
	n->lm = lm;
	n->look = lex > 0 && d->o.lookahead ? d->o.alpha * LN10 * d->trie.smear[lex] : 0;
	*child = id;
	return edge_add(d, p, c, id);
}

static int touch(ctc_decoder *d, int32_t id, int t)
{
	bnode *n = &d->nodes[id];
	if (n->stamp == t)
		return 0;
	n->stamp = t;
	n->nb = n->nnb = -INFINITY;
	if (ARRAY_GROW(d->cand, d->candcap, (size_t)d->ncand + 1))
		return err_set(ACC_ENOMEM, "out of memory (beam search)");
	d->cand[d->ncand++] = id;
	return 0;
}

/* qsort_r comparators (the context pointer keeps decoding thread-safe). */
static int cmp_score(const void *a, const void *b, void *ctx)
{
	const bnode *nodes = ctx;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	double sx = nodes[x].score, sy = nodes[y].score;
	if (sx > sy)
		return -1;
	if (sx < sy)
		return 1;
	return x < y ? -1 : x > y;
}

/* Move the k best of a[0..n-1] (cmp_score order) to a[0..k-1], unordered
 * (quickselect with median-of-three pivots; deterministic). */
static void select_top(int32_t *a, int32_t n, int32_t k, const bnode *nodes)
{
	int32_t lo = 0, hi = n - 1;
	while (hi > lo) {
		int32_t mid = lo + (hi - lo) / 2;
		/* median of three as pivot */
		if (cmp_score(&a[mid], &a[lo], (void *)nodes) < 0) { int32_t t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
		if (cmp_score(&a[hi], &a[lo], (void *)nodes) < 0) { int32_t t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
		if (cmp_score(&a[hi], &a[mid], (void *)nodes) < 0) { int32_t t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
		int32_t pivot = a[mid];
		int32_t i = lo, j = hi;
		while (i <= j) {
			while (cmp_score(&a[i], &pivot, (void *)nodes) < 0)
				i++;
			while (cmp_score(&a[j], &pivot, (void *)nodes) > 0)
				j--;
			if (i <= j) {
				int32_t t = a[i]; a[i] = a[j]; a[j] = t;
				i++;
				j--;
			}
		}
		if (k - 1 <= j)
			hi = j;
		else if (k - 1 >= i)
			lo = i;
		else
			break;
	}
}

static int cmp_tok(const void *a, const void *b, void *ctx)
{
	const float *sort_row = ctx;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	if (sort_row[x] > sort_row[y])
		return -1;
	if (sort_row[x] < sort_row[y])
		return 1;
	return x < y ? -1 : x > y;
}

/* Tokens to try at this frame, most probable first. */
static int frame_tokens(ctc_decoder *d, const float *row)
{
	int n = 0;
	for (int i = 0; i < d->V; i++)
		if (d->tokens[i] || i == d->blank)
			d->order[n++] = i;
	qsort_r(d->order, n, sizeof *d->order, cmp_tok, (void *)row);
	int k = d->o.top_k > 0 && d->o.top_k < n ? d->o.top_k : n;
	if (d->o.cutoff_prob < 1) {
		double cum = 0;
		int j;
		for (j = 0; j < k; j++) {
			cum += exp(row[d->order[j]]);
			if (cum >= d->o.cutoff_prob) {
				j++;
				break;
			}
		}
		k = j;
	}
	return k;
}

/* Drop every prefix-tree node that is neither in the beam nor an ancestor
 * of one, so memory stays bounded on long recordings.  Survivors keep their
 * relative order (ties still break by creation order: results do not
 * change), and their edges and LM states are renumbered. */
static int compact(ctc_decoder *d)
{
	int32_t *map = malloc((size_t)d->nn * sizeof *map), *smap = malloc((size_t)d->ns * sizeof *smap);
	if (!map || !smap) {
		free(map);
		free(smap);
		return err_set(ACC_ENOMEM, "out of memory (beam search)");
	}
	for (int32_t i = 0; i < d->nn; i++)
		map[i] = -1;
	for (int32_t i = 0; i < d->ns; i++)
		smap[i] = -1;
	for (int bi = 0; bi < d->nbeam; bi++)
		for (int32_t k = d->beam[bi]; k >= 0 && map[k] < 0; k = d->nodes[k].parent)
			map[k] = 1;
	int32_t nn = 0, ns = 0;
	for (int32_t i = 0; i < d->nn; i++) {
		if (map[i] < 0)
			continue;
		map[i] = nn;
		bnode n = d->nodes[i];
		if (n.parent >= 0)
			n.parent = map[n.parent];   /* parents come first: already mapped */
		if (smap[n.state] < 0) {
			d->states[ns] = d->states[n.state];
			smap[n.state] = ns++;
		}
		n.state = smap[n.state];
		d->nodes[nn++] = n;
	}
	d->nn = nn;
	d->ns = ns;
	d->compactions++;
	for (int bi = 0; bi < d->nbeam; bi++)
		d->beam[bi] = map[d->beam[bi]];
	free(map);
	free(smap);
	memset(d->ekeys, 0, (d->emask + 1) * sizeof *d->ekeys);
	d->nedges = 0;
	for (int32_t i = 1; i < nn; i++) {
		int rc = edge_add(d, d->nodes[i].parent, d->nodes[i].token, i);
		if (rc)
			return rc;
	}
	return 0;
}

static char *text_of(const ctc_decoder *d, int32_t id)
{
	size_t len = 0, cap = 64, ntok = 0;
	for (int32_t k = id; k > 0; k = d->nodes[k].parent)
		ntok++;
	int32_t *toks = malloc((ntok ? ntok : 1) * sizeof *toks);
	if (!toks)
		return NULL;
	size_t i = ntok;
	for (int32_t k = id; k > 0; k = d->nodes[k].parent)
		toks[--i] = d->nodes[k].token;
	char *s = malloc(cap);
	if (!s) {
		free(toks);
		return NULL;
	}
	for (i = 0; i < ntok; i++) {
		const char *t = toks[i] == d->delim ? " " : d->tokens[toks[i]];
		size_t l = strlen(t);
		if (toks[i] == d->delim && (len == 0 || s[len - 1] == ' '))
			continue;
		if (ARRAY_GROW(s, cap, len + l + 1)) {
			free(s);
			free(toks);
			return NULL;
		}
		memcpy(s + len, t, l);
		len += l;
	}
	while (len && s[len - 1] == ' ')
		len--;
	s[len] = 0;
	free(toks);
	return s;
}

/* A fresh search: the tree, the LM states and the edge map emptied, the
 * root (empty prefix, blank mass 0) alone in the beam. */
static int decode_begin(ctc_decoder *d)
{
	int32_t root;
	int rc;
	d->nn = d->ns = d->ncand = 0;
	d->nedges = 0;
	d->compactions = 0;
	if (!d->ekeys) {
		if ((rc = emap_rehash(&d->ekeys, &d->evals, &d->emask, 4096, "beam search")))
			return rc;
	} else {
		memset(d->ekeys, 0, (d->emask + 1) * sizeof *d->ekeys);
	}
	if ((rc = new_node(d, &root)))
		return rc;
	arpa_state st0;
	if (d->lm)
		arpa_state_begin(d->lm, &st0);
	else
		arpa_state_null(&st0);
	if ((rc = new_state(d, &st0, &d->nodes[root].state)))
		return rc;
	d->nodes[root].lex = d->lm ? 0 : -1;
	d->nodes[root].pb = 0;
	free(d->beam);
	d->beam = malloc(sizeof *d->beam * (size_t)d->o.beam);
	if (!d->beam)
		return err_set(ACC_ENOMEM, "out of memory");
	d->beam[0] = root;
	d->nbeam = 1;
	return 0;
}

/* Prefix b extended by token c (its child, unless the lexicon forbids
 * it), mass added to the child's non-blank mass of frame t. */
static int extend_add(ctc_decoder *d, int32_t b, int32_t c, int t, double mass)
{
	int32_t ch;
	int rc;
	if ((rc = extend(d, b, c, &ch)) || ch < 0)
		return rc;
	if ((rc = touch(d, ch, t)))
		return rc;
	d->nodes[ch].nnb = logadd(d->nodes[ch].nnb, mass);
	return 0;
}

/* Frame t: every beam prefix extended by the frame's k candidate tokens
 * (d->order), the new masses accumulated in the candidates' nb/nnb. */
static int decode_extend(ctc_decoder *d, const float *row, int t, int k)
{
	int rc;
	d->ncand = 0;
	for (int bi = 0; bi < d->nbeam; bi++) {
		int32_t b = d->beam[bi];
		double pb = d->nodes[b].pb, pnb = d->nodes[b].pnb;
		double total = logadd(pb, pnb);
		int32_t last = d->nodes[b].token;
		for (int j = 0; j < k; j++) {
			int32_t c = d->order[j];
			double lp = row[c];
			if (c == d->blank) {
				if ((rc = touch(d, b, t)))
					return rc;
				d->nodes[b].nb = logadd(d->nodes[b].nb, total + lp);
			} else if (c == d->delim && (last < 0 || last == d->delim)) {
				/* A delimiter at the start or after a delimiter
				 * changes no text: same prefix. */
				if ((rc = touch(d, b, t)))
					return rc;
				d->nodes[b].nnb = logadd(d->nodes[b].nnb, total + lp);
			} else if (c == last) {
				/* the repeat collapses into b; after a blank it is a new token */
				if ((rc = touch(d, b, t)))
					return rc;
				d->nodes[b].nnb = logadd(d->nodes[b].nnb, pnb + lp);
				if (pb != -INFINITY && (rc = extend_add(d, b, c, t, pb + lp)))
					return rc;
			} else if ((rc = extend_add(d, b, c, t, total + lp))) {
				return rc;
			}
		}
	}
	return 0;
}

/* After frame t: the candidates' masses become current, and the next
 * beam is the best of them (score pruning relative to the best, then the
 * best `beam`: selection, then a sort of those only). */
static int decode_prune(ctc_decoder *d, int t)
{
	for (int32_t i = 0; i < d->ncand; i++) {
		bnode *n = &d->nodes[d->cand[i]];
		n->pb = n->nb;
		n->pnb = n->nnb;
		n->score = logadd(n->pb, n->pnb) + n->lm + n->look;
	}
	/* Nodes of the old beam that got no candidate mass are gone. */
	for (int bi = 0; bi < d->nbeam; bi++) {
		bnode *n = &d->nodes[d->beam[bi]];
		if (n->stamp != t)
			n->pb = n->pnb = -INFINITY;
	}
	if (d->o.beam_prune < 0 && d->ncand > d->o.beam) {
		double top = -INFINITY;
		for (int32_t i = 0; i < d->ncand; i++)
			if (d->nodes[d->cand[i]].score > top)
				top = d->nodes[d->cand[i]].score;
		int32_t kept = 0;
		for (int32_t i = 0; i < d->ncand; i++) {
			bnode *n = &d->nodes[d->cand[i]];
			if (n->score >= top + d->o.beam_prune)
				d->cand[kept++] = d->cand[i];
			else
				n->pb = n->pnb = -INFINITY;
		}
		d->ncand = kept;
	}
	if (d->ncand > d->o.beam)
		select_top(d->cand, d->ncand, d->o.beam, d->nodes);
	qsort_r(d->cand, d->ncand < d->o.beam ? d->ncand : d->o.beam, sizeof *d->cand, cmp_score, d->nodes);
	d->nbeam = d->ncand < d->o.beam ? d->ncand : d->o.beam;
	memcpy(d->beam, d->cand, (size_t)d->nbeam * sizeof *d->beam);
	for (int32_t i = d->nbeam; i < d->ncand; i++) {
		bnode *n = &d->nodes[d->cand[i]];
		n->pb = n->pnb = -INFINITY;
	}
	if (!d->nbeam)
		return err_set(ACC_EINVAL, "beam search lost every hypothesis at frame %d (all -inf emissions or lexicon too strict)", t);
	if (d->nn > d->o.max_nodes)
		return compact(d);
	return 0;
}

/* Final scores: close the partial word and the sentence.  Under a strict
 * lexicon an unfinished non-word ends no hypothesis, unless every
 * hypothesis is one (then the best of them is returned).  Ties: the
 * earliest node. */
static int32_t decode_best(ctc_decoder *d, double *best)
{
	int32_t best_id = -1;
	*best = -INFINITY;
	for (int pass = 0; pass < 2 && best_id < 0; pass++) {
		for (int bi = 0; bi < d->nbeam; bi++) {
			int32_t id = d->beam[bi];
			bnode *n = &d->nodes[id];
			if (pass == 0 && n->plen > 0 && word_forbidden(d, n))
				continue;
			double s = logadd(n->pb, n->pnb) + n->lm;
			arpa_state st = d->states[n->state];
			if (n->plen > 0)
				s += word_end_score(d, n, &st);
			if (d->lm)
				s += d->o.alpha * LN10 * arpa_score(d->lm, &st, arpa_eos(d->lm), &st);
			if (best_id < 0 || s > *best || (s == *best && id < best_id)) {
				*best = s;
				best_id = id;
			}
		}
	}
	return best_id;
}

int ctc_decoder_decode(ctc_decoder *d, const float *logp, int T, int stride, char **text, double *score)
{
	int rc = 0;
	*text = NULL;
	if (T < 0 || stride < d->V)
		return err_set(ACC_EINVAL, "bad emission matrix: %d frames, stride %d < %d tokens", T, stride, d->V);
	TRY(decode_begin(d));
	for (int t = 0; t < T; t++) {
		const float *row = logp + (size_t)t * stride;
		for (int v = 0; v < d->V; v++)
			if (isnan(row[v]) || row[v] > 1e-3f) {
				rc = err_set(ACC_EINVAL, "emissions are not log-probabilities: frame %d token %d is %g", t, v, row[v]);
				goto out;
			}
		TRY(decode_extend(d, row, t, frame_tokens(d, row)));
		TRY(decode_prune(d, t));
	}
	double best;
	int32_t best_id = decode_best(d, &best);
	*text = text_of(d, best_id);
	if (!*text)
		rc = err_set(ACC_ENOMEM, "out of memory");
	if (score)
		*score = best;
out:
	return rc;
}

int ctc_greedy(const float *logp, int T, int n_tokens, int stride, const char *const *tokens, int blank,
	       int delim, char **text)
{
	size_t len = 0, cap = 64;
	int prev = -1;
	*text = NULL;
	if (T < 0 || n_tokens < 1 || stride < n_tokens)
		return err_set(ACC_EINVAL, "bad emission matrix: %d frames, %d tokens, stride %d", T, n_tokens, stride);
	char *s = malloc(cap);
	if (!s)
		return err_set(ACC_ENOMEM, "out of memory");
	for (int t = 0; t < T; t++) {
		int best;
		emit_greedy(logp + (size_t)t * stride, 1, n_tokens, stride, &best);
		if (best != prev && best != blank && (tokens[best] || best == delim)) {
			const char *tok = best == delim ? " " : tokens[best];
			size_t l = strlen(tok);
			if (!(best == delim && (len == 0 || s[len - 1] == ' '))) {
				if (ARRAY_GROW(s, cap, len + l + 1)) {
					free(s);
					return ACC_ENOMEM;
				}
				memcpy(s + len, tok, l);
				len += l;
			}
		}
		prev = best;
	}
	while (len && s[len - 1] == ' ')
		len--;
	s[len] = 0;
	*text = s;
	return 0;
}
