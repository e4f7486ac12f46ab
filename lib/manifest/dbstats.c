/*
 * dbstats.c — the `db stats` report (see dbstats.h): a fixed list of
 * sections, each one query over the manifest's views, printed with
 * dbquery's table or JSON writers inside one read snapshot.
 */
#include "manifest/dbstats.h"
#include "base/err.h"
#include <stdio.h>
#include <string.h>
#include "base/banned.h"

int dbstats_print(manifest *m, const dbstats_opts *o, FILE *out)
{
	dbstats_opts def = DBSTATS_OPTS_DEFAULT;
	char speakers_sql[512];
	int rc = 0, first = 1;
	if (!o)
		o = &def;
	if (o->format == DBQUERY_CSV)
		return err_set(ACC_EINVAL, "db stats writes table or json, not csv (use db query for csv)");
	snprintf(speakers_sql, sizeof speakers_sql,
		 "SELECT label, lang, gender, accent, utterances, hours FROM hours_by_speaker "
		 "ORDER BY hours DESC, label LIMIT %d", o->top_speakers < 0 ? -1 : o->top_speakers);
	const struct { const char *key, *title, *sql; } sec[] = {
		{ "totals", "Totals",
		  "SELECT (SELECT count(*) FROM corpora) AS corpora, (SELECT count(*) FROM recordings) AS recordings, "
		  "(SELECT count(*) FROM speakers) AS speakers, (SELECT count(*) FROM utterances) AS utterances, "
		  "(SELECT count(*) FROM utterances WHERE status = 'ok') AS usable, "
		  "(SELECT coalesce(round(sum(end_s - start_s) / 3600.0, 3), 0) FROM utterances WHERE status = 'ok') AS hours, "
		  "(SELECT coalesce(round(sum(duration_s) / 3600.0, 3), 0) FROM recordings) AS audio_hours, "
		  "(SELECT count(*) FROM rejects) AS rejects" },
		{ "by_lang_split", "Hours by language and split (status ok)",
		  "SELECT coalesce(lang, '?') AS lang, coalesce(split, '-') AS split, utterances, hours "
		  "FROM hours_by_lang_split ORDER BY lang, split" },
		{ "by_status", "Utterances by status",
		  "SELECT status, coalesce(lang, '?') AS lang, utterances, hours FROM utterance_status ORDER BY status, lang" },
		{ "by_gender", "Hours by language and gender (status ok)",
		  "SELECT coalesce(lang, '?') AS lang, gender, speakers, utterances, hours FROM hours_by_gender ORDER BY lang, gender" },
		{ "speakers", "Speakers, most audio first", speakers_sql },
		{ "rejects", "Rejects by reason", "SELECT reason, n, example_source FROM rejects_by_reason" },
		{ "durations", "Utterance durations (status ok)",
		  "SELECT range_s, utterances, hours FROM duration_histogram" },
	};
	if ((rc = manifest_exec(m, "BEGIN")))
		return rc;
	if (o->format == DBQUERY_JSON)
		fputs("{", out);
	for (size_t i = 0; i < sizeof sec / sizeof sec[0] && !rc; i++) {
		if (!strcmp(sec[i].key, "speakers") && o->top_speakers == 0)
			continue;
		if (o->format == DBQUERY_JSON)
			fprintf(out, "%s\n\"%s\": ", first ? "" : ",", sec[i].key);
		else
			fprintf(out, "%s== %s ==\n", first ? "" : "\n", sec[i].title);
		rc = dbquery_print(m, sec[i].sql, o->format, out, NULL);
		first = 0;
	}
	if (o->format == DBQUERY_JSON && !rc)
		fputs("}\n", out);
	if (!sqlite3_get_autocommit(m->db))
		sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}
