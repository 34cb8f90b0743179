# contrib/ — what monitoring systems load: the Prometheus alerts (prometheus/migtune.rules.yml)
# and a Grafana dashboard (grafana/migtune.json), both over the metrics migtuned writes.
# tests/contrib/test-contrib.sh checks them against a file the built migtuned wrote (promtool,
# jq); the wrapper below lets it run as a unit test of each build flavour.

$(B)/tests/test-contrib: tests/contrib/test-contrib.sh | $(B)/migtuned
	@mkdir -p $(@D)
	printf '#!/bin/sh\nexec %s %s\n' "$(abspath tests/contrib/test-contrib.sh)" \
	  "$(abspath $(B)/migtuned)" > $@
	chmod 0755 $@

UNIT_TESTS += $(B)/tests/test-contrib

INSTALL_TARGETS += install-contrib
.PHONY: install-contrib
install-contrib:
	$(INSTALL) -D -m 0644 contrib/prometheus/migtune.rules.yml \
	  $(DESTDIR)$(DOCDIR)/examples/prometheus/migtune.rules.yml
	$(INSTALL) -D -m 0644 contrib/grafana/migtune.json \
	  $(DESTDIR)$(DOCDIR)/examples/grafana/migtune.json
