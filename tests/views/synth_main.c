/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * views-synth: fills a telemetry ring with synthetic migrations, for trying migtop and migdump by
 * hand.  views-synth [--ring NAME] [--migrations N] [--steps N] [--hold SEC]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/views/synth.h"

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ring", required_argument, NULL, 'r' }, { "migrations", required_argument, NULL, 'm' },
		{ "steps", required_argument, NULL, 's' }, { "hold", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct ring_create_opts co = { .name = "/migtune-demo", .gid = (gid_t)-1 };
	struct synth_opts so = { .migrations = 8, .steps = 120, .step_ns = 1000000000ull, .seed = 1 };
	long hold = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': co.name = optarg; break;
		case 'm': so.migrations = (uint32_t)atoi(optarg); break;
		case 's': so.steps = (uint32_t)atoi(optarg); break;
		case 'H': hold = atol(optarg); break;
		default:
			fprintf(stderr, "usage: views-synth [--ring NAME] [--migrations N] [--steps N] [--hold SEC]\n");
			return 1;
		}
	}
	struct ring_writer *w;
	int r = ring_writer_open(&co, &w);
	if (r < 0) {
		fprintf(stderr, "views-synth: cannot create ring %s: %s\n", co.name, strerror(-r));
		return 1;
	}
	so.start_mono_ns = ring_now_mono_ns() - (uint64_t)so.steps * so.step_ns;
	long n = synth_fill(w, &so);
	if (n < 0) {
		fprintf(stderr, "views-synth: %s\n", strerror((int)-n));
		ring_writer_close(w, true);
		return 1;
	}
	printf("views-synth: %ld records in %s\n", n, co.name);
	for (long i = 0; i < hold * 2; i++) {
		ring_heartbeat(w);
		usleep(500000);
	}
	ring_writer_close(w, hold > 0);
	return 0;
}
