/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the Prometheus exposition of hostile strings.  Domain names are whatever
 * libvirt passed (any bytes but NUL), and the NIC name, UUID, phase, policy and URI reach the
 * labels too.  Whatever they hold, every line of the output must parse as the text format:
 * HELP/TYPE comments or NAME{label="value",...} NUMBER, with only \\ \" \n escapes inside
 * values and the whole file valid UTF-8. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* metrics.c's thread and logging are not exercised here. */
struct json_object *ctl_status_json(struct tracker *t, ctl_extra_fn extra, void *arg)
{
	(void)t; (void)extra; (void)arg;
	return NULL;
}

void log_msg(int level, const char *fmt, ...)
{
	(void)level; (void)fmt;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
			   c >= 0xf0 && c <= 0xf4 ? 4 : 0;

		if (!k || i + k > n)
			return false;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k;
	}
	return true;
}

static void check_line(const char *p, const char *end)
{
	if (*p == '#') {
		assert(!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7));
		return;
	}
	assert((*p >= 'a' && *p <= 'z') || *p == '_');
	while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
		p++;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			while ((*p >= 'a' && *p <= 'z') || *p == '_')
				p++;
			assert(*p++ == '=');
			assert(*p++ == '"');
			while (*p != '"') {
				assert(p < end && *p != '\n');
				if (*p == '\\') {
					p++;
					assert(*p == '\\' || *p == '"' || *p == 'n');
				}
				p++;
			}
			p++;
			if (*p == ',')
				p++;
			else
				assert(*p == '}');
		}
		p++;
	}
	assert(*p++ == ' ');
	{
		char *vend;

		strtod(p, &vend);
		assert(vend == end && vend > p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The input is up to six NUL-separated strings: name, uuid, nic, phase, policy, uri. */
	char *fields[6] = { 0 };
	char *copy = malloc(size + 1);
	struct json_object *st, *doms, *d;
	char *out = NULL;
	size_t len = 0, nf = 0;
	FILE *f;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy; nf < 6 && p <= copy + size; p += strlen(p) + 1)
		fields[nf++] = p;
	for (size_t i = nf; i < 6; i++)
		fields[i] = "";

	st = json_object_new_object();
	json_object_object_add(st, "version", json_object_new_string("0.1.0"));
	json_object_object_add(st, "policy", json_object_new_string(fields[4]));
	json_object_object_add(st, "uri", json_object_new_string(fields[5]));
	doms = json_object_new_array();
	d = json_object_new_object();
	json_object_object_add(d, "name", json_object_new_string(fields[0]));
	json_object_object_add(d, "uuid", json_object_new_string(fields[1]));
	json_object_object_add(d, "direction", json_object_new_string(size & 1 ? "out" : "in"));
	json_object_object_add(d, "nic", json_object_new_string(fields[2]));
	json_object_object_add(d, "phase", json_object_new_string(fields[3]));
	json_object_object_add(d, "active", json_object_new_boolean(1));
	json_object_object_add(d, "data_remaining_bytes", json_object_new_int64((int64_t)size << 20));
	json_object_object_add(d, "elapsed_ms", json_object_new_int64(-(int64_t)size));
	json_object_array_add(doms, d);
	json_object_object_add(st, "domains", doms);

	f = open_memstream(&out, &len);
	assert(f);
	assert(metrics_render(f, st) == 0);
	fclose(f);
	json_object_put(st);
	free(copy);

	assert(valid_utf8((const unsigned char *)out, len));
	assert(len && out[len - 1] == '\n');
	assert(!memchr(out, '\0', len));
	for (char *line = out; line < out + len;) {
		char *end = memchr(line, '\n', (size_t)(out + len - line));

		assert(end);
		check_line(line, end);
		line = end + 1;
	}
	free(out);
	return 0;
}
