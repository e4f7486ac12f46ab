/*
 * align_dist.h — the records `mpirun -np N align run` ranks exchange: an
 * utterance to align (to a rank) and its finished alignment (back to rank
 * 0, the only SQLite writer), and the characters missing from the
 * vocabulary, packed into a dist_buf (lib/base/dist.h).
 */
#pragma once
#include <stdint.h>

#include "align/align_one.h"
#include "base/dist.h"
#include "model/vocab.h"

/* An utterance to align: manifest id, recording id, span, transcript,
 * key, and the audio file's absolute path (ranks > 0 have no manifest). */
typedef struct align_dist_work {
	int64_t id, rec;
	double  start, end;
	char   *text, *key, *path;
	char   *raw, *profile;   /* text_raw, norm_profile (may be NULL): the labels */
} align_dist_work;
int align_dist_put_work(dist_buf *b, const align_dist_work *w);
int align_dist_get_work(dist_buf *b, align_dist_work *w);   /* strings malloc'd */
void align_dist_work_free(align_dist_work *w);

/* A finished alignment: utterance id, time of frame 0, align_hash, OOV
 * JSON (may be NULL) and the result with every array. */
int align_dist_put_result(dist_buf *b, int64_t id, double t0, const char *hash, const char *oov_json,
			  const align_result *r);
/* r is filled (free with align_result_free), *oov_json malloc'd or NULL. */
int align_dist_get_result(dist_buf *b, int64_t *id, double *t0, char hash[65], char **oov_json, align_result *r);

/* Missing-character counts; get merges into dst (vocab_oov_merge). */
int align_dist_put_oov(dist_buf *b, const vocab_oov *o);
int align_dist_get_oov(dist_buf *b, vocab_oov *dst);
