/*
 * ops_dnnl.c — the fast path of ops.h: oneDNN primitives for the
 * matmul-shaped ops (linear, conv1d, attention), OpenMP loops for norms,
 * activations and softmax.
 *
 * Design (the speed lives here):
 *  - A primitive is created once per shape (kind + dims + dtypes + post-ops)
 *    and cached in the ops_ctx with its memory objects; a call only swaps
 *    data handles and executes.
 *  - Frozen weights are reordered once into the blocked layout the
 *    primitive asks for (format_tag any), in bf16 when the input is bf16,
 *    and cached by weight pointer (ops_ctx_weights_changed() re-packs).
 *  - Bias, GELU/ReLU and the residual add are post-ops of the primitive.
 *  - Attention runs as two batched matmuls over [B, heads] reading q/k/v
 *    through strides (no head transposes), with the 1/sqrt(d) scaling as
 *    an output scale; the masked softmax between them is an OpenMP loop.
 *  - oneDNN scratchpads are user-managed (one grow-only buffer), so steady
 *    state does no allocation at all.
 * exp/erf in the OpenMP loops are branch-free polynomial versions that the
 * compiler vectorizes (accuracy ~1e-7 relative, far below the fixtures'
 * 1e-4 tolerance; the references in ops_ref.c use libm in double).
 */
#include "model/ops.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "model/fastmath.h"
#include "model/quant.h"
#include "base/banned.h"

/* ---------------------------------------------------------------------------
 * Shape and dtype helpers of ops.h (production code and references alike). */

int conv1d_out_len(int T, int K, int stride, int pad_l, int pad_r)
{
	long span = (long)T + pad_l + pad_r - K;
	if (span < 0 || stride <= 0)
		return 0;
	return (int)(span / stride + 1);
}

void ops_to_bf16(uint16_t *dst, const float *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = ops_f32_to_bf16(src[i]);
}

void ops_from_bf16(float *dst, const uint16_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = ops_bf16_to_f32(src[i]);
}

/* ---------------------------------------------------------------------------
 * Vectorizable math. */

static inline float fast_gelu(float x)
{
	return 0.5f * x * (1.0f + fast_erff(x * 0.70710678118654752f));
}

static inline uint16_t to_bf16(float f)
{
	union { float f; uint32_t u; } v = { f };
	uint32_t r = (v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16;
	uint32_t nan = (v.u >> 16) | 0x40;
	return (uint16_t)(((v.u & 0x7fffffffu) > 0x7f800000u) ? nan : r);
}

/* ---------------------------------------------------------------------------
 * Context: primitive cache, packed weights, scratch. */

enum { K_LINEAR = 1, K_CONV, K_ATT_QK, K_ATT_PV, K_MATMUL, K_LINEAR_BWD, K_BMM, K_LINEAR_I8 };

typedef struct {
	int64_t k[32];
} prim_key;

typedef struct {
	prim_key key;
	dnnl_primitive_t prim;
	dnnl_memory_desc_t wmd;     /* weights md the primitive wants */
	int pack;                   /* weights must be packed (else used in place) */
	dnnl_memory_t m_src, m_wei, m_bias, m_dst, m_scr;
	size_t scratch;
	uint64_t last_use;          /* for least-recently-used eviction */
} prim_entry;

/* Primitives kept at most: every new input length creates a few, and a
 * long run over utterances of many lengths must not grow without bound. */
#define PRIM_CACHE_MAX 384   /* default of ops_ctx.cache_max */

typedef struct {
	const float *w;
	dnnl_memory_desc_t umd;     /* the user layout it was packed from: the forward
	                             * reads w as [K,N] (w^T), the input gradient as
	                             * [N,K]; for a square w only the strides differ */
	dnnl_memory_desc_t md;      /* packed layout (dtype included) */
	void *data;
	size_t bytes;
	float *scale;               /* int8 packings: per-output-channel scales (quant.h) */
	int stale;
	int released;               /* w itself may no longer be read (ops_ctx_source_released):
	                             * other layouts are derived from this packing */
} packed_w;

/* scratch slots of the ops themselves: 0-1 attention, 2 posconv, 3-5 the
 * int8 linear (quantized input, its row scales, the int32 product) */
#define INTERNAL_SLOTS 6

struct ops_ctx {
	dnnl_engine_t eng;
	dnnl_stream_t strm;
	prim_entry *prims;
	int nprims;
	size_t capprims;
	uint64_t use_clock;
	packed_w *packs;
	int npacks;
	size_t cappacks;
	void *scratch[OPS_SCRATCH_SLOTS + INTERNAL_SLOTS];
	size_t scratch_sz[OPS_SCRATCH_SLOTS + INTERNAL_SLOTS];
	void *dscr;                 /* oneDNN scratchpad */
	size_t dscr_sz;
	int pack_f32;
	int cache_max;
	const float *q_x;           /* the input whose int8 rows are in slots 3-4 */
	int q_M, q_K;
};

#define DN(call) do { dnnl_status_t _s = (call); if (_s != dnnl_success) { \
	rc = err_set(ACC_EINTERNAL, "oneDNN: %s failed: %s", #call, dnnl_status2str(_s)); goto out; } } while (0)

static void *alloc64(size_t bytes)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, bytes ? (bytes + 63) / 64 * 64 : 64))
		return NULL;
	return p;
}

int ops_ctx_create(ops_ctx **out)
{
	int rc = 0;
	ops_ctx *c = calloc(1, sizeof *c);
	*out = NULL;
	if (!c)
		return err_set(ACC_ENOMEM, "out of memory creating the ops context");
	c->pack_f32 = 0;   /* measured no faster packed; packing would double fp32 weight memory */
	c->cache_max = PRIM_CACHE_MAX;
	DN(dnnl_engine_create(&c->eng, dnnl_cpu, 0));
	DN(dnnl_stream_create(&c->strm, c->eng, dnnl_stream_default_flags));
	*out = c;
	c = NULL;
out:
	ops_ctx_free(c);
	return rc;
}

static void prim_release(prim_entry *e)
{
	if (e->prim) dnnl_primitive_destroy(e->prim);
	if (e->m_src) dnnl_memory_destroy(e->m_src);
	if (e->m_wei) dnnl_memory_destroy(e->m_wei);
	if (e->m_bias) dnnl_memory_destroy(e->m_bias);
	if (e->m_dst) dnnl_memory_destroy(e->m_dst);
	if (e->m_scr) dnnl_memory_destroy(e->m_scr);
}

void ops_ctx_free(ops_ctx *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nprims; i++)
		prim_release(&c->prims[i]);
	free(c->prims);
	for (int i = 0; i < c->npacks; i++) {
		free(c->packs[i].data);
		free(c->packs[i].scale);
	}
	free(c->packs);
	for (int i = 0; i < OPS_SCRATCH_SLOTS + INTERNAL_SLOTS; i++)
		free(c->scratch[i]);
	free(c->dscr);
	if (c->strm) dnnl_stream_destroy(c->strm);
	if (c->eng) dnnl_engine_destroy(c->eng);
	free(c);
}

void ops_ctx_weights_changed(ops_ctx *c, const float *w)
{
	for (int i = 0; i < c->npacks; i++)
		if (c->packs[i].w == w)
			c->packs[i].stale = 1;
}

void ops_ctx_set_pack_f32(ops_ctx *c, int pack) { c->pack_f32 = pack; }

void ops_ctx_set_cache_max(ops_ctx *c, int n) { c->cache_max = n < 1 ? 1 : n; }

void ops_ctx_source_released(ops_ctx *c, const float *w)
{
	for (int i = 0; i < c->npacks; i++)
		if (c->packs[i].w == w)
			c->packs[i].released = 1;
}

int ops_has_amx(void)
{
	unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), amx = (unsigned)dnnl_cpu_isa_avx512_core_amx;
	return (isa & amx) == amx;   /* the ISA values are nested bit sets */
}

size_t ops_ctx_packed_bytes(const ops_ctx *c)
{
	size_t s = 0;
	for (int i = 0; i < c->npacks; i++)
		s += c->packs[i].bytes;
	return s;
}

static void *scratch_get(ops_ctx *c, int slot, size_t bytes)
{
	if (c->scratch_sz[slot] < bytes) {
		free(c->scratch[slot]);
		c->scratch_sz[slot] = 0;
		c->scratch[slot] = alloc64(bytes);
		if (!c->scratch[slot]) {
			err_set(ACC_ENOMEM, "out of memory: scratch buffer of %zu bytes", bytes);
			return NULL;
		}
		c->scratch_sz[slot] = bytes;
	}
	return c->scratch[slot];
}

void *ops_ctx_scratch(ops_ctx *c, int slot, size_t bytes)
{
	if (slot < 0 || slot >= OPS_SCRATCH_SLOTS) {
		err_set(ACC_EINVAL, "scratch slot %d out of range", slot);
		return NULL;
	}
	return scratch_get(c, slot, bytes);
}

static prim_entry *prim_find(ops_ctx *c, const prim_key *k)
{
	/* most recent first: a forward repeats the same few shapes */
	for (int i = c->nprims - 1; i >= 0; i--)
		if (!memcmp(&c->prims[i].key, k, sizeof *k)) {
			c->prims[i].last_use = ++c->use_clock;
			return &c->prims[i];
		}
	return NULL;
}

static prim_entry *prim_new(ops_ctx *c, const prim_key *k)
{
	if (c->nprims >= c->cache_max) {
		int old = 0;
		for (int i = 1; i < c->nprims; i++)
			if (c->prims[i].last_use < c->prims[old].last_use)
				old = i;
		prim_release(&c->prims[old]);
		c->prims[old] = c->prims[--c->nprims];
	}
	if (ARRAY_GROW(c->prims, c->capprims, (size_t)c->nprims + 1))
		return NULL;
	prim_entry *e = &c->prims[c->nprims];
	memset(e, 0, sizeof *e);
	e->key = *k;
	e->last_use = ++c->use_clock;
	return e;
}

/* Finish a primitive entry from its descriptor: query the layouts, create
 * the memory objects (handles set per call) and the primitive. */
static int prim_finish(ops_ctx *c, prim_entry *e, const_dnnl_op_desc_t od, dnnl_primitive_attr_t attr,
                       int has_bias)
{
	int rc = 0;
	dnnl_primitive_desc_t pd = NULL;
	DN(dnnl_primitive_desc_create(&pd, od, attr, c->eng, NULL));
	e->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
	DN(dnnl_memory_create(&e->m_src, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), c->eng, DNNL_MEMORY_NONE));
	DN(dnnl_memory_create(&e->m_wei, &e->wmd, c->eng, DNNL_MEMORY_NONE));
	DN(dnnl_memory_create(&e->m_dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), c->eng, DNNL_MEMORY_NONE));
	if (has_bias)
		DN(dnnl_memory_create(&e->m_bias, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), c->eng, DNNL_MEMORY_NONE));
	const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
	e->scratch = smd ? dnnl_memory_desc_get_size(smd) : 0;
	if (e->scratch)
		DN(dnnl_memory_create(&e->m_scr, smd, c->eng, DNNL_MEMORY_NONE));
	DN(dnnl_primitive_create(&e->prim, pd));
	c->nprims++;
out:
	if (pd)
		dnnl_primitive_desc_destroy(pd);
	if (rc)
		prim_release(e);
	return rc;
}

/* A new cache entry for key, finished from descriptor od (prim_finish);
 * when pack, its weights are read through packed_get.  NULL with *rc set
 * on failure. */
static prim_entry *prim_create(ops_ctx *c, const prim_key *key, const_dnnl_op_desc_t od,
                               dnnl_primitive_attr_t attr, int has_bias, int pack, int *rc)
{
	prim_entry *e = prim_new(c, key);
	if (!e) {
		*rc = ACC_ENOMEM;
		return NULL;
	}
	e->pack = pack;
	if ((*rc = prim_finish(c, e, od, attr, has_bias)))
		return NULL;
	return e;
}

static dnnl_primitive_attr_t make_attr(int post, float scale, int *rc)
{
	dnnl_primitive_attr_t attr = NULL;
	dnnl_post_ops_t po = NULL;
	dnnl_status_t s = dnnl_primitive_attr_create(&attr);
	if (s == dnnl_success)
		s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
	if (s == dnnl_success && scale != 1.0f)
		s = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &scale);
	if (s == dnnl_success && (post & (OPS_POST_GELU | OPS_POST_RELU | OPS_POST_ADD))) {
		s = dnnl_post_ops_create(&po);
		if (s == dnnl_success && (post & OPS_POST_GELU))
			s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_erf, 0, 0);
		if (s == dnnl_success && (post & OPS_POST_RELU))
			s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0, 0);
		if (s == dnnl_success && (post & OPS_POST_ADD))
			s = dnnl_post_ops_append_sum(po, 1.0f);
		if (s == dnnl_success)
			s = dnnl_primitive_attr_set_post_ops(attr, po);
	}
	if (po)
		dnnl_post_ops_destroy(po);
	if (s != dnnl_success) {
		*rc = err_set(ACC_EINTERNAL, "oneDNN: cannot build primitive attributes: %s", dnnl_status2str(s));
		if (attr)
			dnnl_primitive_attr_destroy(attr);
		return NULL;
	}
	return attr;
}

/* The packed copy of w in layout md, created or refreshed from user layout
 * umd when missing or stale.  umd is plain fp32, or s8 for an int8 packing:
 * then w [N,K] is first quantized per output channel (quant_rows_s8) and
 * the scales kept in the entry (*scale, when scale is not NULL). */
static void *packed_get_q(ops_ctx *c, const float *w, const dnnl_memory_desc_t *umd,
                          const dnnl_memory_desc_t *md, const float **scale)
{
	int rc = 0;
	packed_w *pw = NULL;
	dnnl_primitive_desc_t rpd = NULL;
	dnnl_primitive_t r = NULL;
	dnnl_memory_t ms = NULL, md_ = NULL;
	int8_t *q = NULL;
	int s8 = umd->data_type == dnnl_s8;
	int from = -1;   /* a packing of w to derive from, when w was released */
	for (int i = 0; i < c->npacks; i++)
		if (c->packs[i].w == w && dnnl_memory_desc_equal(&c->packs[i].md, md) &&
		    dnnl_memory_desc_equal(&c->packs[i].umd, umd)) {
			pw = &c->packs[i];
			if (!pw->stale) {
				if (scale)
					*scale = pw->scale;
				return pw->data;
			}
			break;
		} else if (c->packs[i].w == w && c->packs[i].released && !c->packs[i].stale &&
		           c->packs[i].md.data_type == md->data_type &&
		           dnnl_memory_desc_equal(&c->packs[i].umd, umd)) {
			from = i;   /* the same view of w in the same type: a reorder away */
		}
	if (pw && pw->released) {
		err_set(ACC_EINTERNAL, "a weight changed after its fp32 copy was released");
		return NULL;
	}
	if (!pw && from < 0) {
		for (int i = 0; i < c->npacks; i++)
			if (c->packs[i].w == w && c->packs[i].released) {
				err_set(ACC_EINTERNAL, "a weight whose fp32 copy was released is needed in another "
				        "data type or orientation");
				return NULL;
			}
	}
	if (!pw) {
		if (ARRAY_GROW(c->packs, c->cappacks, (size_t)c->npacks + 1))
			return NULL;
		pw = &c->packs[c->npacks];
		memset(pw, 0, sizeof *pw);
		pw->w = w;
		pw->umd = *umd;
		pw->md = *md;
		pw->bytes = dnnl_memory_desc_get_size(md);
		pw->stale = 1;   /* until the reorder below succeeds */
		pw->data = alloc64(pw->bytes);
		if (!pw->data) {
			err_set(ACC_ENOMEM, "out of memory packing a weight (%zu bytes)", pw->bytes);
			return NULL;
		}
		c->npacks++;
	}
	const void *src = w;
	const dnnl_memory_desc_t *smd = umd;
	if (from >= 0) {
		/* a new layout of a released weight: reorder from its packing */
		packed_w *f = &c->packs[from];
		src = f->data;
		smd = &f->md;
		pw->released = 1;
		if (f->scale) {
			int N = (int)umd->dims[1];
			if (!pw->scale && !(pw->scale = malloc(sizeof(float) * N))) {
				rc = err_set(ACC_ENOMEM, "out of memory: int8 weight scales");
				goto out;
			}
			memcpy(pw->scale, f->scale, sizeof(float) * N);
		}
	} else if (s8) {
		/* umd is w^T [K,N] over w [N,K]: quantize the rows of w */
		int K = (int)umd->dims[0], N = (int)umd->dims[1];
		if (!pw->scale && !(pw->scale = malloc(sizeof(float) * N))) {
			rc = err_set(ACC_ENOMEM, "out of memory: int8 weight scales");
			goto out;
		}
		if (!(q = malloc((size_t)N * K))) {
			rc = err_set(ACC_ENOMEM, "out of memory quantizing a weight (%zu bytes)", (size_t)N * K);
			goto out;
		}
		quant_rows_s8(q, pw->scale, w, N, K);
		src = q;
	}
	DN(dnnl_reorder_primitive_desc_create(&rpd, smd, c->eng, md, c->eng, NULL));
	DN(dnnl_primitive_create(&r, rpd));
	DN(dnnl_memory_create(&ms, smd, c->eng, (void *)src));
	DN(dnnl_memory_create(&md_, md, c->eng, pw->data));
	dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, ms }, { DNNL_ARG_TO, md_ } };
	DN(dnnl_primitive_execute(r, c->strm, 2, args));
	DN(dnnl_stream_wait(c->strm));
	pw->stale = 0;
	if (scale)
		*scale = pw->scale;
out:
	free(q);
	if (r) dnnl_primitive_destroy(r);
	if (rpd) dnnl_primitive_desc_destroy(rpd);
	if (ms) dnnl_memory_destroy(ms);
	if (md_) dnnl_memory_destroy(md_);
	return rc ? NULL : pw->data;
}

static void *packed_get(ops_ctx *c, const float *w, const dnnl_memory_desc_t *umd,
                        const dnnl_memory_desc_t *md)
{
	return packed_get_q(c, w, umd, md, NULL);
}

static int prim_run(ops_ctx *c, prim_entry *e, const void *src, const void *wei, const void *bias, void *dst)
{
	int rc = 0;
	dnnl_exec_arg_t args[5];
	int n = 0;
	if (e->scratch > c->dscr_sz) {
		free(c->dscr);
		c->dscr_sz = 0;
		if (!(c->dscr = alloc64(e->scratch)))
			return err_set(ACC_ENOMEM, "out of memory: oneDNN scratchpad of %zu bytes", e->scratch);
		c->dscr_sz = e->scratch;
	}
	DN(dnnl_memory_set_data_handle(e->m_src, (void *)src));
	DN(dnnl_memory_set_data_handle(e->m_wei, (void *)wei));
	DN(dnnl_memory_set_data_handle(e->m_dst, dst));
	args[n++] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, e->m_src };
	args[n++] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, e->m_wei };
	args[n++] = (dnnl_exec_arg_t){ DNNL_ARG_DST, e->m_dst };
	if (e->m_bias) {
		DN(dnnl_memory_set_data_handle(e->m_bias, (void *)bias));
		args[n++] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, e->m_bias };
	}
	if (e->m_scr) {
		DN(dnnl_memory_set_data_handle(e->m_scr, c->dscr));
		args[n++] = (dnnl_exec_arg_t){ DNNL_ARG_SCRATCHPAD, e->m_scr };
	}
	DN(dnnl_primitive_execute(e->prim, c->strm, n, args));
	DN(dnnl_stream_wait(c->strm));
out:
	return rc;
}

/* prim_run with weight w: its cached packing in e's layout (reordered from
 * w's own layout umd on first use or after ops_ctx_weights_changed) when
 * e->pack, else w read in place. */
static int prim_run_weights(ops_ctx *c, prim_entry *e, const float *w, const dnnl_memory_desc_t *umd,
                            const void *src, const void *bias, void *dst)
{
	const void *wp = w;
	if (e->pack && !(wp = packed_get(c, w, umd, &e->wmd)))
		return ACC_EINTERNAL;
	return prim_run(c, e, src, wp, bias, dst);
}

static dnnl_data_type_t dt(ops_dtype t) { return t == OPS_BF16 ? dnnl_bf16 : dnnl_f32; }

/* ---------------------------------------------------------------------------
 * linear */

/* y[M,Nout] (yt) = x[M,Kin] (xt) W + b, post-ops fused, where W is the fixed
 * fp32 weight w seen as [Kin, Nout] through the strides wstr (the linear
 * layer reads w^T, its input gradient w itself).  W is packed once (bf16
 * when x is) when x is bf16 or fp32 packing is on, else read in place;
 * `kind` keeps the two uses' primitives and packings apart. */
static int weight_matmul(ops_ctx *c, int kind, void *y, ops_dtype yt, const void *x, ops_dtype xt,
                         const float *w, const dnnl_dims_t wstr, const float *b, int M, int Kin, int Nout,
                         int post)
{
	int rc = 0;
	dnnl_primitive_attr_t attr = NULL;
	int pack = xt == OPS_BF16 || c->pack_f32;
	prim_key key = { { kind, M, Kin, Nout, xt, yt, post, b != NULL, pack } };
	dnnl_memory_desc_t umd;
	dnnl_dims_t wdims = { Kin, Nout };
	DN(dnnl_memory_desc_init_by_strides(&umd, 2, wdims, dnnl_f32, wstr));
	prim_entry *e = prim_find(c, &key);
	if (!e) {
		dnnl_memory_desc_t smd, wmd, bmd, dmd;
		dnnl_matmul_desc_t md;
		dnnl_dims_t sd = { M, Kin }, dd = { M, Nout }, bd = { 1, Nout };
		DN(dnnl_memory_desc_init_by_tag(&smd, 2, sd, dt(xt), dnnl_ab));
		if (pack)
			DN(dnnl_memory_desc_init_by_tag(&wmd, 2, wdims, dt(xt), dnnl_format_tag_any));
		else
			wmd = umd;
		DN(dnnl_memory_desc_init_by_tag(&bmd, 2, bd, dnnl_f32, dnnl_ab));
		DN(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dt(yt), dnnl_ab));
		DN(dnnl_matmul_desc_init(&md, &smd, &wmd, b ? &bmd : NULL, &dmd));
		if (!(attr = make_attr(post, 1.0f, &rc)))
			goto out;
		if (!(e = prim_create(c, &key, &md, attr, b != NULL, pack, &rc)))
			goto out;
	}
	rc = prim_run_weights(c, e, w, &umd, x, b, y);
out:
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	return rc;
}

int linear_forward(ops_ctx *c, void *y, ops_dtype yt, const void *x, ops_dtype xt,
                   const float *w, const float *b, int M, int K, int N, int post)
{
	if (M <= 0)
		return 0;
	dnnl_dims_t wstr = { 1, K };   /* w [N, K] read as w^T [K, N] */
	int rc = weight_matmul(c, K_LINEAR, y, yt, x, xt, w, wstr, b, M, K, N, post);
	if (rc)
		err_wrap(rc, "linear [%d x %d] -> %d", M, K, N);
	return rc;
}

/* ---------------------------------------------------------------------------
 * dynamic-int8 linear: oneDNN s8 x s8 -> s32 with the weight packed once
 * (quantized per output channel, oneDNN's s8s8 compensation in its blocked
 * layout), the input quantized per row at every call, and one OpenMP pass
 * that dequantizes and applies bias and post-ops.  Doing the epilogue here
 * rather than as oneDNN output scales is what allows a scale per row and
 * per column at once (oneDNN 2.x output scales take one mask). */

int linear_forward_int8(ops_ctx *c, void *y, ops_dtype yt, const float *x, const float *w, const float *b,
                        int M, int K, int N, int post)
{
	int rc = 0;
	dnnl_primitive_attr_t attr = NULL;
	if (M <= 0)
		return 0;
	prim_key key = { { K_LINEAR_I8, M, K, N } };
	dnnl_memory_desc_t umd;
	dnnl_dims_t wdims = { K, N }, wstr = { 1, K };
	DN(dnnl_memory_desc_init_by_strides(&umd, 2, wdims, dnnl_s8, wstr));
	prim_entry *e = prim_find(c, &key);
	if (!e) {
		dnnl_memory_desc_t smd, wmd, dmd;
		dnnl_matmul_desc_t md;
		dnnl_dims_t sd = { M, K }, dd = { M, N };
		DN(dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_s8, dnnl_ab));
		DN(dnnl_memory_desc_init_by_tag(&wmd, 2, wdims, dnnl_s8, dnnl_format_tag_any));
		DN(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_s32, dnnl_ab));
		DN(dnnl_matmul_desc_init(&md, &smd, &wmd, NULL, &dmd));
		if (!(attr = make_attr(0, 1.0f, &rc)))
			goto out;
		if (!(e = prim_create(c, &key, &md, attr, 0, 1, &rc)))
			goto out;
	}
	const float *sw = NULL;
	const void *wp = packed_get_q(c, w, &umd, &e->wmd, &sw);
	if (!wp) {
		rc = ACC_EINTERNAL;   /* packed_get_q set the message */
		goto out;
	}
	int same = (post & OPS_INT8_SAME_X) && c->q_x == x && c->q_M == M && c->q_K == K;
	int8_t *qx = scratch_get(c, OPS_SCRATCH_SLOTS + 3, (size_t)M * K);
	float *sx = scratch_get(c, OPS_SCRATCH_SLOTS + 4, sizeof(float) * M);
	int32_t *acc = scratch_get(c, OPS_SCRATCH_SLOTS + 5, sizeof(int32_t) * M * N);
	if (!qx || !sx || !acc) {
		rc = ACC_ENOMEM;
		c->q_x = NULL;
		goto out;
	}
	if (!same) {   /* scratch slots 3 and 4 keep it for an OPS_INT8_SAME_X call */
		quant_rows_s8(qx, sx, x, M, K);
		c->q_x = x;
		c->q_M = M;
		c->q_K = K;
	}
	if ((rc = prim_run(c, e, qx, wp, NULL, acc)))
		goto out;
	/* in column blocks, each step a branch-free loop the compiler vectorizes */
	#pragma omp parallel for schedule(static)
	for (int m = 0; m < M; m++) {
		const int32_t *ar = acc + (size_t)m * N;
		float s = sx[m], t[256];
		for (int n0 = 0; n0 < N; n0 += 256) {
			int nb = N - n0 < 256 ? N - n0 : 256;
			const int32_t *a = ar + n0;
			const float *ws = sw + n0;
			if (b) {
				const float *bb = b + n0;
				#pragma omp simd
				for (int j = 0; j < nb; j++)
					t[j] = (float)a[j] * (s * ws[j]) + bb[j];
			} else {
				#pragma omp simd
				for (int j = 0; j < nb; j++)
					t[j] = (float)a[j] * (s * ws[j]);
			}
			if (post & OPS_POST_GELU) {
				#pragma omp simd
				for (int j = 0; j < nb; j++)
					t[j] = fast_gelu(t[j]);
			}
			if (post & OPS_POST_RELU) {
				#pragma omp simd
				for (int j = 0; j < nb; j++)
					t[j] = t[j] > 0 ? t[j] : 0;
			}
			if (yt == OPS_F32) {
				float *yf = (float *)y + (size_t)m * N + n0;
				if (post & OPS_POST_ADD) {
					#pragma omp simd
					for (int j = 0; j < nb; j++)
						yf[j] += t[j];
				} else {
					memcpy(yf, t, sizeof(float) * nb);
				}
			} else {
				uint16_t *yb = (uint16_t *)y + (size_t)m * N + n0;
				if (post & OPS_POST_ADD) {
					#pragma omp simd
					for (int j = 0; j < nb; j++)
						t[j] += ops_bf16_to_f32(yb[j]);
				}
				#pragma omp simd
				for (int j = 0; j < nb; j++)
					yb[j] = to_bf16(t[j]);
			}
		}
	}
out:
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	if (rc)
		err_wrap(rc, "int8 linear [%d x %d] -> %d", M, K, N);
	return rc;
}

/* Pack w now for a matmul y[M,Nout] = x[M,Kin] W (+= with post ADD), W = w
 * seen as [Kin,Nout] through strides wstr from user type ut: the layout
 * oneDNN asks for with M = 1, in type t (x and W), dst type yt.  It asked
 * the same for every M in a sweep of 1..6561 on AVX-512 CPUs (and another
 * M's layout would be derived from this packing once w is released). */
static int pack_weight_now(ops_ctx *c, const float *w, dnnl_data_type_t ut, const dnnl_dims_t wstr, int Kin,
                           int Nout, dnnl_data_type_t t, dnnl_data_type_t yt, int post)
{
	int rc = 0;
	dnnl_primitive_desc_t pd = NULL;
	dnnl_primitive_attr_t attr = NULL;
	dnnl_memory_desc_t smd, wmd, dmd, umd;
	dnnl_matmul_desc_t md;
	dnnl_dims_t sd = { 1, Kin }, wd = { Kin, Nout }, dd = { 1, Nout };
	DN(dnnl_memory_desc_init_by_strides(&umd, 2, wd, ut, wstr));
	DN(dnnl_memory_desc_init_by_tag(&smd, 2, sd, t, dnnl_ab));
	DN(dnnl_memory_desc_init_by_tag(&wmd, 2, wd, t, dnnl_format_tag_any));
	DN(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, yt, dnnl_ab));
	DN(dnnl_matmul_desc_init(&md, &smd, &wmd, NULL, &dmd));
	if (!(attr = make_attr(post, 1.0f, &rc)))
		goto out;
	DN(dnnl_primitive_desc_create(&pd, &md, attr, c->eng, NULL));
	if (!packed_get_q(c, w, &umd, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), NULL))
		rc = ACC_EINTERNAL;
out:
	if (pd)
		dnnl_primitive_desc_destroy(pd);
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	return rc;
}

int ops_ctx_pack_linear(ops_ctx *c, const float *w, int K, int N, ops_dtype xt, int int8)
{
	if (!int8 && xt != OPS_BF16)
		return err_set(ACC_EINVAL, "fp32 linear weights are read in place, not packed");
	dnnl_dims_t wstr = { 1, K };   /* as linear_forward: w [N, K] read as w^T [K, N] */
	int rc = int8 ? pack_weight_now(c, w, dnnl_s8, wstr, K, N, dnnl_s8, dnnl_s32, 0)
	              : pack_weight_now(c, w, dnnl_f32, wstr, K, N, dnnl_bf16, dnnl_f32, 0);
	if (rc)
		err_wrap(rc, "packing a linear weight [%d x %d]", N, K);
	return rc;
}

int ops_ctx_pack_linear_bwd(ops_ctx *c, const float *w, int K, int N, ops_dtype dyt)
{
	if (dyt != OPS_BF16)
		return err_set(ACC_EINVAL, "fp32 linear weights are read in place, not packed");
	dnnl_dims_t wstr = { K, 1 };   /* as linear_backward_data: dx[M,K] += dy[M,N] w, w [N,K] as stored */
	int rc = pack_weight_now(c, w, dnnl_f32, wstr, N, K, dnnl_bf16, dnnl_f32, OPS_POST_ADD);
	if (rc)
		err_wrap(rc, "packing a linear weight's input gradient [%d x %d]", N, K);
	return rc;
}

/* ---------------------------------------------------------------------------
 * general matmul (operands change every call: nothing is packed) */

/* Run the plain matmul C = scale * A Bm (+ C when accumulating) cached
 * under key: e is prim_find's entry, or NULL, and then the primitive is
 * made from the operands' memory descriptors (smd, wmd, dmd). */
static int matmul_run(ops_ctx *c, const prim_key *key, prim_entry *e, const dnnl_memory_desc_t *smd,
                      const dnnl_memory_desc_t *wmd, const dnnl_memory_desc_t *dmd, float scale,
                      int accumulate, const void *A, const void *Bm, void *C)
{
	int rc = 0;
	dnnl_primitive_attr_t attr = NULL;
	if (!e) {
		dnnl_matmul_desc_t md;
		DN(dnnl_matmul_desc_init(&md, smd, wmd, NULL, dmd));
		if (!(attr = make_attr(accumulate ? OPS_POST_ADD : 0, scale, &rc)))
			goto out;
		if (!(e = prim_create(c, key, &md, attr, 0, 0, &rc)))
			goto out;
	}
	rc = prim_run(c, e, A, Bm, NULL, C);
out:
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	return rc;
}

int matmul_forward(ops_ctx *c, void *C, ops_dtype ct, const void *A, int transa,
                   const void *Bm, int transb, ops_dtype it, int M, int N, int K, int accumulate)
{
	int rc = 0;
	if (M <= 0 || N <= 0)
		return 0;
	prim_key key = { { K_MATMUL, M, N, K, transa, transb, it, ct, accumulate } };
	prim_entry *e = prim_find(c, &key);
	dnnl_memory_desc_t smd, wmd, dmd;
	if (!e) {
		dnnl_dims_t sd = { M, K }, wd = { K, N }, dd = { M, N };
		dnnl_dims_t ss = { transa ? 1 : K, transa ? M : 1 }, ws = { transb ? 1 : N, transb ? K : 1 };
		DN(dnnl_memory_desc_init_by_strides(&smd, 2, sd, dt(it), ss));
		DN(dnnl_memory_desc_init_by_strides(&wmd, 2, wd, dt(it), ws));
		DN(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dt(ct), dnnl_ab));
	}
	rc = matmul_run(c, &key, e, &smd, &wmd, &dmd, 1.0f, accumulate, A, Bm, C);
out:
	if (rc)
		err_wrap(rc, "matmul [%d x %d] x [%d x %d]", M, K, K, N);
	return rc;
}

/* ---------------------------------------------------------------------------
 * input gradient of linear: dx[M,K] += dy[M,N] w[N,K], w packed like a
 * forward weight (it is frozen, or changes once per optimizer step) */

int linear_backward_data(ops_ctx *c, float *dx, const void *dy, ops_dtype dyt, const float *w,
                         int M, int K, int N)
{
	if (M <= 0 || K <= 0)
		return 0;
	dnnl_dims_t wstr = { K, 1 };   /* w [N, K] as stored */
	int rc = weight_matmul(c, K_LINEAR_BWD, dx, OPS_F32, dy, dyt, w, wstr, NULL, M, N, K, OPS_POST_ADD);
	if (rc)
		err_wrap(rc, "linear input gradient [%d x %d] <- %d", M, K, N);
	return rc;
}

/* ---------------------------------------------------------------------------
 * batched strided matmul (attention backward) */

int ops_bmm(ops_ctx *c, void *C, ops_dtype ct, const int64_t cs[4], const void *A, const int64_t as[4],
            const void *Bm, const int64_t bs[4], ops_dtype it, int B0, int B1, int M, int N, int K,
            float scale, int accumulate)
{
	int rc = 0;
	if (B0 <= 0 || B1 <= 0 || M <= 0 || N <= 0)
		return 0;
	union { float f; int32_t i; } sc = { scale };
	prim_key key = { { K_BMM, B0, B1, M, N, K, it, ct, accumulate, sc.i,
	                   as[0], as[1], as[2], as[3], bs[0], bs[1], bs[2], bs[3],
	                   cs[0], cs[1], cs[2], cs[3] } };
	prim_entry *e = prim_find(c, &key);
	dnnl_memory_desc_t smd, wmd, dmd;
	if (!e) {
		dnnl_dims_t sd = { B0, B1, M, K }, wd = { B0, B1, K, N }, dd = { B0, B1, M, N };
		dnnl_dims_t ss = { as[0], as[1], as[2], as[3] }, ws = { bs[0], bs[1], bs[2], bs[3] };
		dnnl_dims_t ds = { cs[0], cs[1], cs[2], cs[3] };
		DN(dnnl_memory_desc_init_by_strides(&smd, 4, sd, dt(it), ss));
		DN(dnnl_memory_desc_init_by_strides(&wmd, 4, wd, dt(it), ws));
		DN(dnnl_memory_desc_init_by_strides(&dmd, 4, dd, dt(ct), ds));
	}
	rc = matmul_run(c, &key, e, &smd, &wmd, &dmd, scale, accumulate, A, Bm, C);
out:
	if (rc)
		err_wrap(rc, "batched matmul [%d x %d] x [%d x %d] x [%d x %d]", B0, B1, M, K, K, N);
	return rc;
}

/* ---------------------------------------------------------------------------
 * conv1d */

int conv1d_forward(ops_ctx *c, void *y, ops_dtype yt, const void *x, ops_dtype xt,
                   const float *w, const float *b, int B, int T, int Cin, int Cout,
                   int K, int stride, int groups, int pad_l, int pad_r, int post)
{
	int rc = 0;
	dnnl_primitive_attr_t attr = NULL;
	int To = conv1d_out_len(T, K, stride, pad_l, pad_r);
	if (B <= 0 || To <= 0)
		return 0;
	prim_key key = { { K_CONV, B, T, Cin, Cout, K, stride, groups, pad_l, pad_r, post, b != NULL, xt, yt } };
	dnnl_memory_desc_t umd;
	if (groups == 1) {
		dnnl_dims_t wd = { Cout, Cin, K };
		DN(dnnl_memory_desc_init_by_tag(&umd, 3, wd, dnnl_f32, dnnl_oiw));
	} else {
		dnnl_dims_t wd = { groups, Cout / groups, Cin / groups, K };
		DN(dnnl_memory_desc_init_by_tag(&umd, 4, wd, dnnl_f32, dnnl_goiw));
	}
	prim_entry *e = prim_find(c, &key);
	if (!e) {
		dnnl_memory_desc_t smd, wmd, bmd, dmd;
		dnnl_convolution_desc_t cd;
		dnnl_dims_t sd = { B, Cin, T }, dd = { B, Cout, To }, bd = { Cout };
		dnnl_dims_t st = { stride }, pl = { pad_l }, pr = { pad_r };
		DN(dnnl_memory_desc_init_by_tag(&smd, 3, sd, dt(xt), dnnl_nwc));
		DN(dnnl_memory_desc_init_by_tag(&dmd, 3, dd, dt(yt), dnnl_nwc));
		DN(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a));
		wmd = umd;
		wmd.data_type = dt(xt);
		wmd.format_kind = dnnl_format_kind_any;
		DN(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
		                                      &smd, &wmd, b ? &bmd : NULL, &dmd, st, pl, pr));
		if (!(attr = make_attr(post, 1.0f, &rc)))
			goto out;
		if (!(e = prim_create(c, &key, &cd, attr, b != NULL, 1, &rc)))
			goto out;
	}
	rc = prim_run_weights(c, e, w, &umd, x, b, y);
out:
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	if (rc)
		err_wrap(rc, "conv1d [%d x %d x %d] k%d s%d g%d -> %d", B, T, Cin, K, stride, groups, Cout);
	return rc;
}

/* ---------------------------------------------------------------------------
 * attention */

/* Batched matmul over [B, NH] with explicit strides for the three operands. */
static int bmm(ops_ctx *c, int kind, const int64_t *dims_s, const int64_t *str_s, ops_dtype st_,
               const int64_t *dims_w, const int64_t *str_w, ops_dtype wt,
               const int64_t *dims_d, const int64_t *str_d, ops_dtype dt_, float scale,
               const void *s, const void *w, void *d, int ld)
{
	int rc = 0;
	prim_key key = { { kind, dims_s[0], dims_s[1], dims_s[2], dims_s[3], dims_w[3], ld, st_, wt, dt_,
	                   str_d[2] } };
	prim_entry *e = prim_find(c, &key);
	dnnl_memory_desc_t smd, wmd, dmd;
	if (!e) {
		DN(dnnl_memory_desc_init_by_strides(&smd, 4, dims_s, dt(st_), str_s));
		DN(dnnl_memory_desc_init_by_strides(&wmd, 4, dims_w, dt(wt), str_w));
		DN(dnnl_memory_desc_init_by_strides(&dmd, 4, dims_d, dt(dt_), str_d));
	}
	rc = matmul_run(c, &key, e, &smd, &wmd, &dmd, scale, 0, s, w, d);
out:
	return rc;
}

int attention_forward(ops_ctx *c, void *out, ops_dtype ot, float *probs,
                      const void *q, const void *k, const void *v, ops_dtype qt,
                      int ld, const int *kv_len, int B, int T, int C, int NH)
{
	int rc = 0;
	int D = C / NH;
	size_t nrows = (size_t)B * NH * T;
	if (B <= 0 || T <= 0)
		return 0;
	float *S = probs ? probs : scratch_get(c, OPS_SCRATCH_SLOTS + 0, nrows * T * sizeof(float));
	uint16_t *Sb = NULL;
	if (!S)
		return ACC_ENOMEM;
	if (qt == OPS_BF16 && !(Sb = scratch_get(c, OPS_SCRATCH_SLOTS + 1, nrows * T * sizeof(uint16_t))))
		return ACC_ENOMEM;
	/* scores[b,h,i,j] = q[b,i,h*D:] . k[b,j,h*D:] / sqrt(D) */
	int64_t ds[4] = { B, NH, T, D }, ss[4] = { (int64_t)T * ld, D, ld, 1 };
	int64_t dw[4] = { B, NH, D, T }, sw[4] = { (int64_t)T * ld, D, 1, ld };
	int64_t dd[4] = { B, NH, T, T }, sd[4] = { (int64_t)NH * T * T, (int64_t)T * T, T, 1 };
	rc = bmm(c, K_ATT_QK, ds, ss, qt, dw, sw, qt, dd, sd, OPS_F32, (float)(1.0 / sqrt((double)D)), q, k, S, ld);
	if (rc)
		goto out;
	/* masked softmax over the valid keys; padded keys get exactly 0 */
	#pragma omp parallel for schedule(static)
	for (size_t r = 0; r < nrows; r++) {
		int L = kv_len ? kv_len[r / ((size_t)NH * T)] : T;
		if (L > T) L = T;
		float *row = S + r * T;
		float mx = -INFINITY, sum = 0;
		#pragma omp simd reduction(max:mx)   /* scalar without it (no -ffast-math) */
		for (int j = 0; j < L; j++)
			mx = row[j] > mx ? row[j] : mx;
		#pragma omp simd reduction(+:sum)
		for (int j = 0; j < L; j++) {
			float e = fast_expf(row[j] - mx);
			row[j] = e;
			sum += e;
		}
		float inv = L > 0 ? 1.0f / sum : 0.0f;
		#pragma omp simd
		for (int j = 0; j < L; j++)
			row[j] *= inv;
		for (int j = L > 0 ? L : 0; j < T; j++)
			row[j] = 0;
		if (Sb) {
			uint16_t *rb = Sb + r * T;
			#pragma omp simd
			for (int j = 0; j < T; j++)
				rb[j] = to_bf16(row[j]);
		}
	}
	/* out[b,i,h*D+d] = sum_j P[b,h,i,j] v[b,j,h*D+d] */
	int64_t dv[4] = { B, NH, T, D }, sv[4] = { (int64_t)T * ld, D, ld, 1 };
	int64_t dO[4] = { B, NH, T, D }, sO[4] = { (int64_t)T * C, D, C, 1 };
	rc = bmm(c, K_ATT_PV, dd, sd, qt, dv, sv, qt, dO, sO, ot, 1.0f, Sb ? (void *)Sb : (void *)S, v, out, ld);
out:
	if (rc)
		err_wrap(rc, "attention [%d x %d x %d], %d heads", B, T, C, NH);
	return rc;
}

/* ---------------------------------------------------------------------------
 * positional conv */

int posconv_forward(ops_ctx *c, float *y, float *pre, const float *x,
                    const void *xc, ops_dtype xt, const float *w, const float *b,
                    int B, int T, int C, int K, int G)
{
	int rc;
	size_t n = (size_t)B * T * C;
	if (!pre && !(pre = scratch_get(c, OPS_SCRATCH_SLOTS + 2, n * sizeof(float))))
		return ACC_ENOMEM;
	int pad_r = (K % 2 == 0) ? K / 2 - 1 : K / 2;
	rc = conv1d_forward(c, pre, OPS_F32, xt == OPS_BF16 ? xc : x, xt, w, b, B, T, C, C, K, 1, G,
	                    K / 2, pad_r, 0);
	if (rc)
		return err_wrap(rc, "positional conv");
	#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] + fast_gelu(pre[i]);
	return 0;
}

/* ---------------------------------------------------------------------------
 * OpenMP ops */

static void row_stats(const float *xr, int C, float eps, float *mu_, float *rs_)
{
	float s = 0, ss = 0;
	#pragma omp simd reduction(+:s)
	for (int c = 0; c < C; c++)
		s += xr[c];
	float mu = s / C;
	#pragma omp simd reduction(+:ss)
	for (int c = 0; c < C; c++)
		ss += (xr[c] - mu) * (xr[c] - mu);
	*mu_ = mu;
	*rs_ = 1.0f / sqrtf(ss / C + eps);
}

void layernorm_forward(void *y, ops_dtype yt, float *mean, float *rstd, const float *x,
                       const float *g, const float *b, int N, int C, float eps)
{
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * C;
		float mu, rs;
		row_stats(xr, C, eps, &mu, &rs);
		if (yt == OPS_BF16) {
			uint16_t *yr = (uint16_t *)y + (size_t)n * C;
			#pragma omp simd
			for (int c = 0; c < C; c++)
				yr[c] = to_bf16((xr[c] - mu) * rs * g[c] + b[c]);
		} else {
			float *yr = (float *)y + (size_t)n * C;
			#pragma omp simd
			for (int c = 0; c < C; c++)
				yr[c] = (xr[c] - mu) * rs * g[c] + b[c];
		}
		if (mean) mean[n] = mu;
		if (rstd) rstd[n] = rs;
	}
}

void groupnorm_forward(float *y, float *mean, float *rstd, const float *x,
                       const float *g, const float *b, int B, int T, int C, float eps)
{
	/* per (utterance, channel) over time; channels in blocks of 16 (one
	 * cache line per frame), statistics in double because T is long (tens
	 * of thousands of frames for conv layer 0); no allocation */
	int nblk = (C + 15) / 16;
	#pragma omp parallel for schedule(dynamic, 1)
	for (int job = 0; job < B * nblk; job++) {
		int bb = job / nblk, c0 = (job % nblk) * 16, c1 = c0 + 16 < C ? c0 + 16 : C, w = c1 - c0;
		const float *xb = x + (size_t)bb * T * C;
		float *yb = y + (size_t)bb * T * C;
		double s[16] = { 0 }, ss[16] = { 0 };
		float mu[16], rs[16];
		for (int t = 0; t < T; t++)
			for (int k = 0; k < w; k++)
				s[k] += xb[(size_t)t * C + c0 + k];
		for (int k = 0; k < w; k++)
			mu[k] = T ? (float)(s[k] / T) : 0.0f;
		for (int t = 0; t < T; t++)
			for (int k = 0; k < w; k++) {
				double d = xb[(size_t)t * C + c0 + k] - (double)mu[k];
				ss[k] += d * d;
			}
		for (int k = 0; k < w; k++) {
			rs[k] = (float)(1.0 / sqrt((T ? ss[k] / T : 0) + eps));
			if (mean) mean[(size_t)bb * C + c0 + k] = mu[k];
			if (rstd) rstd[(size_t)bb * C + c0 + k] = rs[k];
		}
		for (int t = 0; t < T; t++)
			for (int k = 0; k < w; k++) {
				int c = c0 + k;
				yb[(size_t)t * C + c] = (xb[(size_t)t * C + c] - mu[k]) * rs[k] * g[c] + b[c];
			}
	}
}

void gelu_forward(void *y, ops_dtype yt, const float *x, size_t n)
{
	if (yt == OPS_BF16) {
		uint16_t *yb = y;
		#pragma omp parallel for simd schedule(static)
		for (size_t i = 0; i < n; i++)
			yb[i] = to_bf16(fast_gelu(x[i]));
	} else {
		float *yf = y;
		#pragma omp parallel for simd schedule(static)
		for (size_t i = 0; i < n; i++)
			yf[i] = fast_gelu(x[i]);
	}
}

void relu_forward(float *y, const float *x, size_t n)
{
	#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : 0;
}

void logsoftmax_forward(float *y, const float *x, int N, int V)
{
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * V;
		float *yr = y + (size_t)n * V;
		float mx = -INFINITY;
		for (int v = 0; v < V; v++)
			mx = xr[v] > mx ? xr[v] : mx;
		double s = 0;
		for (int v = 0; v < V; v++)
			s += exp((double)xr[v] - mx);
		float lse = (float)(mx + log(s));
		for (int v = 0; v < V; v++)
			yr[v] = xr[v] - lse;
	}
}
