/*
 * test_faults.c — fault injection in the SQLite layer, the way SQLite tests
 * itself (issue 19): an ingest runs with the Nth SQLite memory allocation
 * failing (sqlite3_config(SQLITE_CONFIG_MALLOC) wrapper) and, separately,
 * with the Nth write to a database file failing (a VFS shim over the
 * default VFS), for a range of N.  After every injected failure the
 * manifest must pass PRAGMA integrity_check and db check, and a rerun
 * without faults must complete to exactly the rows of a fault-free
 * reference ingest.  The same over an `align run` of that manifest (the
 * library's align_run with the mms-tiny fixture model): after every
 * failure the manifest is sound and a rerun gives exactly the reference
 * alignment rows.  FAULT_MAX_N (env) widens the range of N.
 */
#include "align/align_run.h"
#include "check.h"
#include "manifest/dbcheck.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "prep/ingest.h"
#include "manifest/manifest.h"
#include <sndfile.h>
#include <sqlite3.h>
#include <stdatomic.h>

/* ---- the Nth allocation fails ---- */

static sqlite3_mem_methods real_mem;
static atomic_long mem_count, mem_fail_at;   /* fail_at 0 = off */
static atomic_long mem_failed;

static void *fault_malloc(int n)
{
	long k = atomic_fetch_add(&mem_count, 1) + 1;
	long at = atomic_load(&mem_fail_at);
	if (at && k >= at && k < at + 1) {
		atomic_fetch_add(&mem_failed, 1);
		return NULL;
	}
	return real_mem.xMalloc(n);
}

static void *fault_realloc(void *p, int n)
{
	long k = atomic_fetch_add(&mem_count, 1) + 1;
	long at = atomic_load(&mem_fail_at);
	if (at && k == at) {
		atomic_fetch_add(&mem_failed, 1);
		return NULL;
	}
	return real_mem.xRealloc(p, n);
}

/* ---- the Nth write fails: a VFS over the default one ---- */

static sqlite3_vfs *real_vfs, shim_vfs;
static atomic_long wr_count, wr_fail_at, wr_failed;

typedef struct shim_file {
	sqlite3_file base;
	sqlite3_file *real;   /* follows this struct */
} shim_file;

static int shim_close(sqlite3_file *f) { return ((shim_file *)f)->real->pMethods->xClose(((shim_file *)f)->real); }
static int shim_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	sqlite3_file *r = ((shim_file *)f)->real;
	return r->pMethods->xRead(r, b, n, o);
}
static int shim_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	sqlite3_file *r = ((shim_file *)f)->real;
	long k = atomic_fetch_add(&wr_count, 1) + 1;
	long at = atomic_load(&wr_fail_at);
	if (at && k == at) {
		atomic_fetch_add(&wr_failed, 1);
		return SQLITE_IOERR_WRITE;
	}
	return r->pMethods->xWrite(r, b, n, o);
}
#define FWD(name, sig, args) \
	static int shim_##name sig { sqlite3_file *r = ((shim_file *)f)->real; return r->pMethods->x##name args; }
FWD(Truncate, (sqlite3_file *f, sqlite3_int64 s), (r, s))
FWD(Sync, (sqlite3_file *f, int fl), (r, fl))
FWD(FileSize, (sqlite3_file *f, sqlite3_int64 *s), (r, s))
FWD(Lock, (sqlite3_file *f, int l), (r, l))
FWD(Unlock, (sqlite3_file *f, int l), (r, l))
FWD(CheckReservedLock, (sqlite3_file *f, int *o), (r, o))
FWD(FileControl, (sqlite3_file *f, int op, void *a), (r, op, a))
FWD(SectorSize, (sqlite3_file *f), (r))
FWD(DeviceCharacteristics, (sqlite3_file *f), (r))
FWD(ShmMap, (sqlite3_file *f, int i, int sz, int e, void volatile **p), (r, i, sz, e, p))
FWD(ShmLock, (sqlite3_file *f, int o, int n, int fl), (r, o, n, fl))
FWD(ShmUnmap, (sqlite3_file *f, int d), (r, d))
static void shim_ShmBarrier(sqlite3_file *f)
{
	sqlite3_file *r = ((shim_file *)f)->real;
	r->pMethods->xShmBarrier(r);
}

static sqlite3_io_methods shim_io;

static int shim_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	shim_file *s = (shim_file *)f;
	s->real = (sqlite3_file *)(s + 1);
	int rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out);
	f->pMethods = rc == SQLITE_OK && s->real->pMethods ? &shim_io : NULL;
	if (rc == SQLITE_OK && s->real->pMethods) {
		/* the real file's method version decides which calls exist */
		shim_io.iVersion = s->real->pMethods->iVersion < 3 ? s->real->pMethods->iVersion : 3;
	}
	return rc;
}

static void install_faults(void)
{
	sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem);
	sqlite3_mem_methods m = real_mem;
	m.xMalloc = fault_malloc;
	m.xRealloc = fault_realloc;
	sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
	sqlite3_initialize();
	real_vfs = sqlite3_vfs_find(NULL);
	shim_vfs = *real_vfs;
	shim_vfs.zName = "faultshim";
	shim_vfs.szOsFile = (int)sizeof(shim_file) + real_vfs->szOsFile;
	shim_vfs.xOpen = shim_open;
	shim_io = (sqlite3_io_methods){
		.iVersion = 3, .xClose = shim_close, .xRead = shim_read, .xWrite = shim_write,
		.xTruncate = shim_Truncate, .xSync = shim_Sync, .xFileSize = shim_FileSize, .xLock = shim_Lock,
		.xUnlock = shim_Unlock, .xCheckReservedLock = shim_CheckReservedLock, .xFileControl = shim_FileControl,
		.xSectorSize = shim_SectorSize, .xDeviceCharacteristics = shim_DeviceCharacteristics,
		.xShmMap = shim_ShmMap, .xShmLock = shim_ShmLock, .xShmBarrier = shim_ShmBarrier, .xShmUnmap = shim_ShmUnmap,
	};
	sqlite3_vfs_register(&shim_vfs, 1);
}

/* ---- corpus, ingest, comparison ---- */

static char corpus[1024];

static void make_corpus(void)
{
	snprintf(corpus, sizeof corpus, "%s/corpus", TEST_TMP);
	for (int s = 0; s < 3; s++)
		for (int u = 0; u < 4; u++) {
			char p[1200];
			snprintf(p, sizeof p, "%s/spk%d", corpus, s);
			fs_mkdir_p(p);
			snprintf(p, sizeof p, "%s/spk%d/u%d.wav", corpus, s, u);
			SF_INFO si = { .samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
			SNDFILE *sf = sf_open(p, SFM_WRITE, &si);
			int n = 16000 + 1600 * u;
			float *x = malloc(sizeof(float) * n);
			for (int i = 0; i < n; i++)
				x[i] = (float)(0.3 * sin(2 * M_PI * (150 + 40 * s + 11 * u) * i / 16000.0) *
					       (0.6 + 0.4 * sin(2 * M_PI * 4 * i / 16000.0)));
			sf_writef_float(sf, x, n);
			sf_close(sf);
			free(x);
			snprintf(p, sizeof p, "%s/spk%d/u%d.txt", corpus, s, u);
			char t[64];
			snprintf(t, sizeof t, "speaker %d says sentence %d", s, u);
			fs_write_atomic(p, t, strlen(t));
		}
	/* and some rejects */
	char p[1200];
	snprintf(p, sizeof p, "%s/orphan.txt", corpus);
	fs_write_atomic(p, "no audio", 8);
	snprintf(p, sizeof p, "%s/bad.wav", corpus);
	fs_write_atomic(p, "RIFFjunk", 8);
	snprintf(p, sizeof p, "%s/bad.txt", corpus);
	fs_write_atomic(p, "bad", 3);
}

static int run_ingest(const char *db)
{
	ingest_opts o;
	ingest_summary s;
	static char *argv[] = { "prep", "ingest", NULL };
	ingest_opts_default(&o);
	o.root = corpus;
	o.layout = "folder";
	o.manifest_path = db;
	o.threads = 2;
	o.batch = 2;
	o.argc = 2;
	o.argv = argv;
	return ingest_run(&o, &s);
}

/* The rows of a query's ncols columns, one line each, as one string. */
static char *query_rows(const char *db, const char *sql, int ncols)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(fp, "cannot read: %s", h ? sqlite3_errmsg(h) : "?");
	} else {
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int i = 0; i < ncols; i++)
				fprintf(fp, "%s|", sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i) : "-");
			fputc('\n', fp);
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	fclose(fp);
	return out;
}

/* The rows an ingest produces, as one string (ids and times excluded). */
static char *rows_of(const char *db)
{
	return query_rows(db,
		"SELECT 'u', u.utt_key, r.path, r.sha256, u.start_s, u.end_s, u.text_norm, u.split, round(u.weight, 9), s.label "
		"FROM utterances u JOIN recordings r ON r.id = u.recording_id LEFT JOIN speakers s ON s.id = u.speaker_id "
		"UNION ALL SELECT 'r', source, reason, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM rejects "
		"ORDER BY 1, 2, 3", 10);
}

/* integrity_check + db check (no file problems, no split leaks) */
static int manifest_sound(const char *db, char *why, size_t cap)
{
	manifest *m = NULL;
	dbcheck_opts co = DBCHECK_OPTS_DEFAULT;
	dbcheck_report r;
	int ok = 0;
	if (!fs_exists(db))
		return 1;
	if (manifest_open(&m, db, 0) != 0) {
		snprintf(why, cap, "open: %s", err_msg());
		return 0;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
		ok = 1;
	else
		snprintf(why, cap, "integrity_check failed");
	sqlite3_finalize(st);
	if (ok && dbcheck_run(m, &co, &r) == 0) {
		if (r.problems) {
			ok = 0;
			snprintf(why, cap, "db check: %lld problems", (long long)r.problems);
		}
		dbcheck_report_free(&r);
	} else if (ok) {
		ok = 0;
		snprintf(why, cap, "db check: %s", err_msg());
	}
	manifest_close(m);
	return ok;
}

static void remove_db(const char *db)
{
	char p[1200];
	unlink(db);
	snprintf(p, sizeof p, "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db);
	unlink(p);
}

static char *reference;
static long ref_allocs, ref_writes;

static void test_reference(void)
{
	char db[1100];
	snprintf(db, sizeof db, "%s/ref.db", TEST_TMP);
	make_corpus();
	atomic_store(&mem_count, 0);
	atomic_store(&wr_count, 0);
	CHECK_OK(run_ingest(db));
	ref_allocs = atomic_load(&mem_count);
	ref_writes = atomic_load(&wr_count);
	reference = rows_of(db);
	CHECK(reference && strstr(reference, "spk2/u3"));
	CHECK(ref_allocs > 100 && ref_writes > 10);
	printf("# reference ingest: %ld SQLite allocations, %ld database writes\n", ref_allocs, ref_writes);
}

/* One fault at N: ingest (which may fail), then the checks and the rerun. */
static int one_fault(int kind, long n, long *injected, long *stopped)
{
	char db[1100], why[300] = "";
	int bad = 0;
	snprintf(db, sizeof db, "%s/f.db", TEST_TMP);
	remove_db(db);
	atomic_store(kind ? &wr_count : &mem_count, 0);
	atomic_store(kind ? &wr_failed : &mem_failed, 0);
	atomic_store(kind ? &wr_fail_at : &mem_fail_at, n);
	int rc = run_ingest(db);
	atomic_store(kind ? &wr_fail_at : &mem_fail_at, 0);
	long hit = atomic_load(kind ? &wr_failed : &mem_failed);
	*injected += hit > 0;
	*stopped += rc != 0;
	if (!manifest_sound(db, why, sizeof why)) {
		fprintf(stderr, "  %s fault at %ld (ingest rc %d): %s\n", kind ? "write" : "malloc", n, rc, why);
		bad = 1;
	}
	if (run_ingest(db) != 0) {
		fprintf(stderr, "  %s fault at %ld: rerun failed: %s\n", kind ? "write" : "malloc", n, err_msg());
		return 1;
	}
	char *rows = rows_of(db);
	if (!rows || !reference || strcmp(rows, reference)) {
		fprintf(stderr, "  %s fault at %ld: rerun rows differ from the reference\n", kind ? "write" : "malloc", n);
		bad = 1;
	}
	free(rows);
	return bad;
}

static long max_n(long total)
{
	const char *e = getenv("FAULT_MAX_N");
	long cap = e ? atol(e) : 120;
	return total < cap ? total : cap;
}

typedef int (*fault_fn)(int kind, long n, long *injected, long *stopped);

static void sweep_with(fault_fn one, const char *what, int kind, long total)
{
	long injected = 0, tried = 0, failures = 0, stopped = 0;
	long k = max_n(total);
	/* every N up to k, then a stride across the rest of the run */
	for (long n = 1; n <= total + 1; n = n < k ? n + 1 : n + (total / 50 > 1 ? total / 50 : 1)) {
		failures += one(kind, n, &injected, &stopped);
		tried++;
		if (failures > 5)
			break;
	}
	CHECK_EQ_INT(failures, 0);
	CHECK(injected > 0 && stopped > 0);
	printf("# %s %s faults: %ld runs, %ld faults injected, %ld stopped it, %ld bad outcomes\n", what,
	       kind ? "write" : "malloc", tried, injected, stopped, failures);
}

static void sweep(int kind, long total) { sweep_with(one_fault, "ingest", kind, total); }

/* ---- the same over an align run ---- */

static char model_dir[1100], ingested[1100], *align_reference;
static const char *align_lang;
static char lang_buf[64];
static emitter em;
static vocab *voc;
static long align_allocs, align_writes;

static int copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len = 0;
	int rc = fs_read_all(from, &data, &len, (size_t)1 << 30);
	if (!rc)
		rc = fs_write_atomic(to, data, len);
	free(data);
	return rc;
}

/* align run over db (a copy of the ingested manifest, or what a faulted run
 * left); 0 or the first error */
static int run_align(const char *db)
{
	manifest *m = NULL;
	align_run_opts o = { .lang = align_lang, .model_dir = model_dir, .batch = 3 };
	align_summary sum;
	int64_t run_id = 0;
	static char *argv[] = { "align", "run", NULL };
	align_params_default(&o.p);
	int rc = manifest_open(&m, db, 0);
	if (!rc)
		rc = manifest_run_begin(m, "align", 2, argv, &run_id);
	if (!rc)
		rc = align_run(m, &o, &em, voc, run_id, &sum);
	if (m && run_id)
		manifest_run_end(m, run_id, rc ? 1 : 0, "{}");
	manifest_close(m);
	return rc;
}

/* The alignment rows (status, hash, times and words), one string. */
static char *align_rows_of(const char *db)
{
	return query_rows(db,
		"SELECT u.utt_key, a.status, a.align_hash, a.frames, a.flags, a.chars, "
		"(SELECT group_concat(w.word || '@' || w.start_s || '-' || w.end_s, ' ') FROM align_words w "
		" WHERE w.utterance_id = u.id) FROM alignments a JOIN utterances u ON u.id = a.utterance_id "
		"ORDER BY 1", 7);
}

static void test_align_reference(void)
{
	/* the mms-tiny fixture with its amh adapter; its 12-token vocabulary
	 * makes most characters <unk>, which aligns all the same */
	const char *fx = "tests/data/hf-wav2vec2/mms-tiny";
	const char *files[] = { "config.json", "preprocessor_config.json", "model.safetensors", "adapter.amh.safetensors" };
	char from[1200], to[1200], db[1100];
	snprintf(model_dir, sizeof model_dir, "%s/model", TEST_TMP);
	CHECK_OK(fs_mkdir_p(model_dir));
	for (int i = 0; i < 4; i++) {
		snprintf(from, sizeof from, "%s/%s", fx, files[i]);
		snprintf(to, sizeof to, "%s/%s", model_dir, files[i]);
		CHECK_OK(copy_file(from, to));
	}
	/* the language ingest gave the corpus */
	snprintf(ingested, sizeof ingested, "%s/ref.db", TEST_TMP);
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open_v2(ingested, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT lang FROM utterances LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(lang_buf, sizeof lang_buf, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	align_lang = lang_buf;
	CHECK(*lang_buf);
	char vj[400];
	snprintf(vj, sizeof vj, "{\"%s\": {\"<pad>\": 0, \"<s>\": 1, \"</s>\": 2, \"<unk>\": 3, \"|\": 4, \"a\": 5, "
	         "\"e\": 6, \"s\": 7, \"n\": 8, \"t\": 9, \"c\": 10, \"y\": 11}}", lang_buf);
	snprintf(to, sizeof to, "%s/vocab.json", model_dir);
	CHECK_OK(fs_write_atomic(to, vj, strlen(vj)));
	/* adapter.amh serves the corpus' language under its own name */
	snprintf(from, sizeof from, "%s/adapter.amh.safetensors", model_dir);
	snprintf(to, sizeof to, "%s/adapter.%s.safetensors", model_dir, lang_buf);
	if (strcmp(lang_buf, "amh"))
		CHECK_OK(copy_file(from, to));
	CHECK_OK(emitter_open(&em, model_dir, align_lang, W2V_PREC_FP32));
	snprintf(to, sizeof to, "%s/vocab.json", model_dir);
	CHECK_OK(vocab_load(&voc, to, align_lang));
	snprintf(db, sizeof db, "%s/align-ref.db", TEST_TMP);
	remove_db(db);
	CHECK_OK(copy_file(ingested, db));
	atomic_store(&mem_count, 0);
	atomic_store(&wr_count, 0);
	CHECK_OK(run_align(db));
	align_allocs = atomic_load(&mem_count);
	align_writes = atomic_load(&wr_count);
	align_reference = align_rows_of(db);
	CHECK(align_reference && strstr(align_reference, "spk2/u3"));
	printf("# reference align run: %ld SQLite allocations, %ld database writes\n", align_allocs, align_writes);
}

static int one_align_fault(int kind, long n, long *injected, long *stopped)
{
	char db[1100], why[300] = "";
	int bad = 0;
	snprintf(db, sizeof db, "%s/fa.db", TEST_TMP);
	remove_db(db);
	if (copy_file(ingested, db))
		return 1;
	atomic_store(kind ? &wr_count : &mem_count, 0);
	atomic_store(kind ? &wr_failed : &mem_failed, 0);
	atomic_store(kind ? &wr_fail_at : &mem_fail_at, n);
	int rc = run_align(db);
	atomic_store(kind ? &wr_fail_at : &mem_fail_at, 0);
	*injected += atomic_load(kind ? &wr_failed : &mem_failed) > 0;
	*stopped += rc != 0;
	if (!manifest_sound(db, why, sizeof why)) {
		fprintf(stderr, "  align %s fault at %ld (rc %d): %s\n", kind ? "write" : "malloc", n, rc, why);
		bad = 1;
	}
	if (run_align(db) != 0) {
		fprintf(stderr, "  align %s fault at %ld: rerun failed: %s\n", kind ? "write" : "malloc", n, err_msg());
		return 1;
	}
	char *rows = align_rows_of(db);
	if (!rows || !align_reference || strcmp(rows, align_reference)) {
		fprintf(stderr, "  align %s fault at %ld: rerun rows differ from the reference\n", kind ? "write" : "malloc", n);
		bad = 1;
	}
	free(rows);
	return bad;
}

static void test_align_malloc_faults(void) { sweep_with(one_align_fault, "align", 0, align_allocs); }
static void test_align_write_faults(void) { sweep_with(one_align_fault, "align", 1, align_writes); }

static void test_malloc_faults(void) { sweep(0, ref_allocs); }
static void test_write_faults(void) { sweep(1, ref_writes); }

int main(void)
{
	install_faults();
	RUN(test_reference);
	RUN(test_malloc_faults);
	RUN(test_write_faults);
	RUN(test_align_reference);
	RUN(test_align_malloc_faults);
	RUN(test_align_write_faults);
	emitter_close(&em);
	vocab_free(voc);
	free(align_reference);
	free(reference);
	return check_summary();
}
