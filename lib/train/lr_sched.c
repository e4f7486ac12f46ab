/*
 * lr_sched.c — warmup + linear decay (see lr_sched.h).
 */
#include "train/lr_sched.h"
#include "base/banned.h"

double lr_sched_at(const lr_sched *s, int64_t step)
{
	if (step < 0)
		step = 0;
	if (step < s->warmup_steps)
		return s->base_lr * (double)step / (double)(s->warmup_steps > 1 ? s->warmup_steps : 1);
	int64_t span = s->total_steps - s->warmup_steps;
	double f = (double)(s->total_steps - step) / (double)(span > 1 ? span : 1);
	return s->base_lr * (f > 0 ? f : 0);
}
