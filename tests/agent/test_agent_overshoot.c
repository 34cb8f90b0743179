/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host's downtime overshoot estimate: what counts, the largest of a window, the floor, and
 * the trust a lower estimate needs before the policy's own assumption is given up. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/overshoot.h"

static void test_observation_counts_or_not(void **state)
{
	struct overshoot o;

	overshoot_init(&o, 1200);
	assert_int_equal(overshoot_estimate(&o), 0);                 /* nothing learned */
	assert_int_equal(overshoot_observe(&o, 583, 500), 1166);
	assert_int_equal(overshoot_observe(&o, 30, 99), -EDOM);      /* limit under 100 ms */
	assert_int_equal(overshoot_observe(&o, 0, 500), -EDOM);      /* real downtime unknown */
	assert_int_equal(overshoot_observe(&o, 500, 0), -EDOM);      /* limit unknown */
	assert_int_equal(overshoot_count(&o), 1);
	/* rounded to the nearest permille; a wild one counts as 100 x at most */
	assert_int_equal(overshoot_observe(&o, 1, 3000), 0);
	assert_int_equal(overshoot_observe(&o, 4000000, 100), 100000);
	assert_int_equal(overshoot_count(&o), 3);
}

static void test_largest_of_the_window(void **state)
{
	struct overshoot o;

	overshoot_init(&o, 1200);
	/* above the assumption: handed over at once */
	overshoot_observe(&o, 1500, 1000);
	assert_int_equal(overshoot_estimate(&o), 1500);
	overshoot_observe(&o, 1100, 1000);
	overshoot_observe(&o, 1300, 1000);
	assert_int_equal(overshoot_estimate(&o), 1500);
	/* the 1500 leaves after OVERSHOOT_WINDOW newer ones */
	for (unsigned i = 0; i < OVERSHOOT_WINDOW - 1; i++)
		overshoot_observe(&o, 1050, 1000);
	assert_int_equal(overshoot_estimate(&o), 1300);
	overshoot_observe(&o, 1050, 1000);
	assert_int_equal(overshoot_estimate(&o), 1050);
	assert_int_equal(overshoot_count(&o), OVERSHOOT_WINDOW);
}

static void test_lower_needs_agreement_and_never_under_1000(void **state)
{
	struct overshoot o;

	overshoot_init(&o, 1200);
	/* the lab's fast veth: the real downtime far under the limit */
	overshoot_observe(&o, 64, 5950);
	assert_int_equal(overshoot_estimate(&o), 0);                 /* one is not enough */
	overshoot_observe(&o, 87, 300);
	assert_int_equal(overshoot_estimate(&o), 0);
	overshoot_observe(&o, 110, 100);                             /* 1100: still under 1200 */
	assert_int_equal(overshoot_estimate(&o), 1100);              /* three agree */
	/* all under the limit: the floor, never an undershoot */
	overshoot_init(&o, 1200);
	for (unsigned i = 0; i < OVERSHOOT_TRUST_AFTER; i++)
		overshoot_observe(&o, 50, 500);
	assert_int_equal(overshoot_estimate(&o), OVERSHOOT_FLOOR_PERMILLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observation_counts_or_not),
		cmocka_unit_test(test_largest_of_the_window),
		cmocka_unit_test(test_lower_needs_agreement_and_never_under_1000),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
