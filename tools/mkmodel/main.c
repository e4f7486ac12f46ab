/*
 * tools/mkmodel/main.c — the `mkmodel` binary: write a random-weight
 * wav2vec2/MMS checkpoint in exact Hugging Face layout (config.json,
 * preprocessor_config.json, model.safetensors, vocab.json, optional
 * adapter.<lang>.safetensors) for tests and benchmarks.  Argument parsing
 * only; the work is in lib/model/w2v_config.c (presets), w2v_init.c, w2v_save.c.
 */
#include "base/cliopt.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "model/vocab.h"
#include "model/w2v.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_LAYERS = 256, O_HIDDEN, O_HEADS, O_FFN, O_CONVDIM, O_VOCAB, O_ADAPTER, O_LANGS, O_SEED, O_DTYPE,
       O_PRESET, O_OUT, O_INITR, O_VFROM };
static const cliopt opts[] = {
	{ "out", 0, "DIR", O_OUT, "model directory to create (required)" },
	{ "preset", 0, "NAME", O_PRESET, "tiny (default; the shape of the mms-tiny test fixture),\n"
	  "base-tiny (wav2vec2-base layout), mms-300m (1024 hidden,\n"
	  "24 layers, 16 heads, FFN 4096), mms-1b (1280, 48, 16, 5120)" },
	{ "layers", 0, "N", O_LAYERS, "encoder layers" },
	{ "hidden", 0, "N", O_HIDDEN, "hidden size (must stay divisible by heads and pos-conv groups)" },
	{ "heads", 0, "N", O_HEADS, "attention heads" },
	{ "ffn", 0, "N", O_FFN, "feed-forward (intermediate) size" },
	{ "conv-dim", 0, "N", O_CONVDIM, "channels of every conv feature-encoder layer" },
	{ "vocab-size", 0, "N", O_VOCAB, "lm_head rows / vocabulary size" },
	{ "vocab-from", 0, "DB", O_VFROM, "the vocabulary: every character of the manifest's normalized\n"
	  "transcripts (MMS order: <pad> <s> </s> <unk> |, then the\n"
	  "characters), so that the random model can align that corpus;\n"
	  "sets --vocab-size (default: a-g and filler characters)" },
	{ "adapter-dim", 0, "N", O_ADAPTER, "adapter bottleneck (0 = no adapter layers)" },
	{ "init-range", 0, "X", O_INITR, "std of the Linear weights' normal init, config.json's\n"
	  "initializer_range (default 0.02, HF's; small models trained\n"
	  "from scratch learn sooner with ~1/sqrt(hidden))" },
	{ "langs", 0, "a,b,...", O_LANGS, "also write adapter.<lang>.safetensors for each language and a\n"
	  "nested MMS vocab.json {lang: {token: id}} (flat otherwise)" },
	{ "seed", 0, "N", O_SEED, "random seed (default 1); same seed, same bytes" },
	{ "dtype", 0, "f32|bf16", O_DTYPE, "storage type of model.safetensors (default f32; adapters f32)" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static void usage(FILE *fp)
{
	cliopt_usage(fp,
		"usage: mkmodel --out DIR [--preset NAME] [options]\n"
		"\n"
		"Write a random-weight wav2vec2 checkpoint in Hugging Face layout (loads with\n"
		"transformers' Wav2Vec2ForCTC.from_pretrained and with accent).\n"
		"\n", opts, NULL);
}

static int usage_error(const char *what, const char *arg)
{
	return cliopt_bad_arg("mkmodel", what, arg);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	long long v;
	if (cliopt_integer(s, &v) || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* Vocabulary tokens of a random model: the MMS specials, then letters. */
static char **make_tokens(int n)
{
	static const char *const specials[] = {"<pad>", "<s>", "</s>", "<unk>", "|"};
	char **t = calloc(n, sizeof *t);
	if (!t)
		return NULL;
	unsigned cp = 'a';
	for (int i = 0; i < n; i++) {
		if (i < 5) {
			t[i] = strdup(specials[i]);
			continue;
		}
		char buf[8];
		/* a..z, then Latin-1 letters and onwards (2- or 3-byte UTF-8) */
		if (cp == 'z' + 1)
			cp = 0xe0;
		if (cp < 0x80) {
			buf[0] = (char)cp;
			buf[1] = 0;
		} else if (cp < 0x800) {
			buf[0] = (char)(0xc0 | (cp >> 6));
			buf[1] = (char)(0x80 | (cp & 0x3f));
			buf[2] = 0;
		} else {
			buf[0] = (char)(0xe0 | (cp >> 12));
			buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			buf[2] = (char)(0x80 | (cp & 0x3f));
			buf[3] = 0;
		}
		cp++;
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xe000;
		t[i] = strdup(buf);
	}
	return t;
}

/* The vocabulary of a manifest's transcripts (every language together, so
 * that one lm_head serves each language's adapter). */
static int manifest_vocab(const char *db, vocab **v)
{
	manifest *mf = NULL;
	char **texts = NULL;
	int n = 0, rc;
	if (!(rc = manifest_open(&mf, db, 0)) && !(rc = manifest_texts(mf, NULL, &texts, &n))) {
		if (n == 0) {
			rc = err_set(ACC_ENOTFOUND, "%s has no normalized transcripts", db);
			err_hint("ingest a corpus first: `prep ingest CORPUS`");
		} else {
			rc = vocab_build_from_texts(v, (const char *const *)texts, n);
		}
	}
	manifest_texts_free(texts, n);
	manifest_close(mf);
	return rc;
}

static int write_vocab(const char *dir, int n, char **langs, int nlangs, const vocab *from)
{
	char path[4096];
	int rc = fs_join(path, sizeof path, dir, "vocab.json");
	char **tok = from ? calloc(n, sizeof *tok) : make_tokens(n);
	for (int i = 0; from && tok && i < n; i++)
		if (!(tok[i] = strdup(vocab_token(from, i))))
			rc = err_set(ACC_ENOMEM, "out of memory");
	if (!tok)
		return err_set(ACC_ENOMEM, "out of memory");
	if (rc)
		goto out;
	vocab *v = NULL;
	if (!(rc = vocab_from_tokens(&v, (const char *const *)tok, n))) {
		if (nlangs)
			for (int i = 0; i < nlangs && !rc; i++)
				rc = vocab_save_merged(v, path, langs[i]);
		else
			rc = vocab_save_flat(v, path);
	}
	vocab_free(v);
out:
	for (int i = 0; i < n; i++)
		free(tok[i]);
	free(tok);
	return rc;
}

int main(int argc, char **argv)
{
	const char *preset = "tiny", *out = NULL, *langs_arg = NULL, *vocab_db = NULL;
	int layers = -1, hidden = -1, heads = -1, ffn = -1, convdim = -1, vsize = -1, adim = -1, dtype = W2V_SAVE_F32;
	unsigned long long seed = 1;
	double init_range = -1;
	const char *arg;
	int c;
	while ((c = cliopt_next(argc, argv, opts, &arg)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case CLIOPT_VERSION: printf("mkmodel (accent) %s\n", ACCENT_VERSION); return 0;
		case O_PRESET: preset = arg; break;
		case O_OUT: out = arg; break;
		case O_LANGS: langs_arg = arg; break;
		case O_VFROM: vocab_db = arg; break;
		case O_LAYERS: if (parse_int(arg, 1, W2V_MAX_LAYERS, &layers)) return usage_error("bad --layers", arg); break;
		case O_HIDDEN: if (parse_int(arg, 1, 16384, &hidden)) return usage_error("bad --hidden", arg); break;
		case O_HEADS: if (parse_int(arg, 1, 1024, &heads)) return usage_error("bad --heads", arg); break;
		case O_FFN: if (parse_int(arg, 1, 262144, &ffn)) return usage_error("bad --ffn", arg); break;
		case O_CONVDIM: if (parse_int(arg, 1, 16384, &convdim)) return usage_error("bad --conv-dim", arg); break;
		case O_INITR:
			if (cliopt_number(arg, &init_range) || init_range <= 0 || init_range > 10)
				return usage_error("bad --init-range (0 < X <= 10)", arg);
			break;
		case O_VOCAB: if (parse_int(arg, 1, 1000000, &vsize)) return usage_error("bad --vocab-size", arg); break;
		case O_ADAPTER: if (parse_int(arg, 0, 16384, &adim)) return usage_error("bad --adapter-dim", arg); break;
		case O_SEED: {
			char *end;
			seed = strtoull(arg, &end, 10);
			if (!*arg || *end)
				return usage_error("bad --seed", arg);
			break;
		}
		case O_DTYPE:
			if (!strcmp(arg, "f32")) dtype = W2V_SAVE_F32;
			else if (!strcmp(arg, "bf16")) dtype = W2V_SAVE_BF16;
			else return usage_error("bad --dtype (f32 or bf16)", arg);
			break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (!out)
		return usage_error("--out DIR is required", NULL);

	w2v_config cfg;
	w2v_model *m = NULL;
	vocab *from = NULL;
	char *langbuf = NULL, *langs[256];
	int nlangs = 0, rc;
	if ((rc = w2v_config_preset(&cfg, preset)))
		goto fail;
	if (layers > 0) cfg.num_hidden_layers = layers;
	if (hidden > 0) cfg.hidden_size = hidden;
	if (heads > 0) cfg.num_attention_heads = heads;
	if (ffn > 0) cfg.intermediate_size = ffn;
	for (int i = 0; convdim > 0 && i < cfg.num_feat_extract_layers; i++)
		cfg.conv_dim[i] = convdim;
	if (vocab_db) {
		if ((rc = manifest_vocab(vocab_db, &from)))
			goto fail;
		vsize = vocab_size(from);
	}
	if (vsize > 0) cfg.vocab_size = vsize;
	if (adim >= 0) cfg.adapter_attn_dim = adim;
	if (init_range > 0) cfg.initializer_range = init_range;
	if (langs_arg) {
		langbuf = strdup(langs_arg);
		for (char *save = NULL, *tok = strtok_r(langbuf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (nlangs == 256 || strchr(tok, '/') || tok[0] == '.') {
				free(langbuf);
				return usage_error("bad language list", langs_arg);
			}
			langs[nlangs++] = tok;
		}
		if (nlangs && !cfg.adapter_attn_dim) {
			free(langbuf);
			return usage_error("--langs needs adapter layers (--adapter-dim > 0)", NULL);
		}
	}
	if ((rc = w2v_model_alloc(&m, &cfg)) || (rc = w2v_init_random(m, seed)))
		goto fail;
	if ((rc = w2v_save(m, out, dtype)) || (rc = write_vocab(out, cfg.vocab_size, langs, nlangs, from)))
		goto fail;
	/* each language's adapter and head: the trainable group drawn again
	 * from a per-language seed (after the base file is written) */
	for (int i = 0; i < nlangs; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/adapter.%s.safetensors", out, langs[i]);
		if ((rc = w2v_init_random_train(m, seed * 1000003u + 7919u * (i + 1))) ||
		    (rc = w2v_save_adapter(m, path)))
			goto fail;
	}
	size_t nparam = 0;
	for (int i = 0; i < m->n_tensors; i++)
		nparam += m->tensors[i].present ? m->tensors[i].numel : 0;
	printf("mkmodel: %s preset, %d layers, hidden %d, %zu parameters, %d adapter file(s) -> %s\n", preset,
	       cfg.num_hidden_layers, cfg.hidden_size, nparam, nlangs, out);
	w2v_free(m);
	vocab_free(from);
	free(langbuf);
	return 0;
fail:
	err_print();
	w2v_free(m);
	vocab_free(from);
	free(langbuf);
	return err_exit_code(rc);
}
