/*
 * lr_sched.h — learning-rate schedule: linear warmup then linear decay to 0,
 * exactly transformers' get_linear_schedule_with_warmup (a LambdaLR whose
 * factor for 0-based optimizer step s is s/warmup during warmup, then
 * (total - s)/(total - warmup), floored at 0).  Note the first step of a
 * warmup runs at lr 0, as in HF.
 */
#pragma once
#include <stdint.h>

typedef struct {
	double  base_lr;
	int64_t warmup_steps;   /* 0 = no warmup */
	int64_t total_steps;    /* decays to 0 at this step */
} lr_sched;

/* Learning rate of 0-based optimizer step `step`. */
double lr_sched_at(const lr_sched *s, int64_t step);
