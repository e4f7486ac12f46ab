/*
 * fuzz_modelcfg.c — libFuzzer harness for a model directory's JSON files:
 * the input is parsed as config.json (w2v_config_parse, then validated) and
 * loaded as vocab.json (flat and MMS-nested, with and without a language).
 * Either works or fails with a message; never a crash.
 */
#include "fuzz_util.h"
#include "base/err.h"
#include "model/vocab.h"
#include "model/w2v.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	w2v_config cfg;
	memset(&cfg, 0, sizeof cfg);
	if (w2v_config_parse(&cfg, (const char *)data, size) != 0) {
		if (!err_msg()[0])
			abort();
	} else if (w2v_config_validate(&cfg) == 0) {
		volatile int64_t f = w2v_config_frames(&cfg, 16000);
		(void)f;
	}
	memset(&cfg, 0, sizeof cfg);
	if (w2v_config_parse_preproc(&cfg, (const char *)data, size) != 0 && !err_msg()[0])
		abort();
	const char *p = fuzz_put("vocab.json", data, size);
	static const char *langs[] = { NULL, "amh", "eng" };
	for (int i = 0; i < 3; i++) {
		vocab *v = NULL;
		if (vocab_load(&v, p, langs[i]) != 0) {
			if (v || !err_msg()[0])
				abort();
			continue;
		}
		vocab_free(v);
	}
	return 0;
}
