# The Helm chart's tools and checks. Included from the Makefile (`include deploy/charts.mk`), which
# sets SHELL (bash, -euo pipefail, .ONESHELL) and PY; `make install` must have run (the generator
# imports oms_contracts from .venv).

PY                ?= .venv/bin/python
OMS_CACHE_DIR     ?= $(HOME)/.cache/oms
CHART             := charts/oms
CHART_TOPICS      := $(CHART)/files/topics.json
CHART_KUBE_VERSION ?= 1.30.0
CHART_RENDER_DIR  := .local/chart
# Installs when needed, then prints HELM=…, KUBECONFORM=…, KUBE_SCHEMAS=… (all under OMS_CACHE_DIR).
CHART_TOOLS_ENV    = OMS_CACHE_DIR="$(OMS_CACHE_DIR)" PY="$(PY)" bash deploy/k8s-tools/install.sh --print

chart-tools: ## build helm and kubeconform (go install, cached by version) and their offline schemas
	started=$$(date +%s)
	$(CHART_TOOLS_ENV)
	echo "chart-tools: $$(( $$(date +%s) - started )) s"

chart-topics: ## regenerate charts/oms/files/topics.json from contracts' topic registry
	$(PY) deploy/k8s-tools/gen_kafka_topics.py > $(CHART_TOPICS).tmp
	mv $(CHART_TOPICS).tmp $(CHART_TOPICS)

chart-sync: chart-topics ## regenerate what the chart takes from the repo (topics; deploy/prometheus/rules)
	rm -rf $(CHART)/files/prometheus
	if compgen -G 'deploy/prometheus/rules/*.y*ml' >/dev/null; then
	  mkdir -p $(CHART)/files/prometheus && cp deploy/prometheus/rules/*.y*ml $(CHART)/files/prometheus/
	fi

chart-check: ## topics drift + helm lint --strict + render (default, all enabled) + kubeconform + structural check
	started=$$(date +%s)
	eval "$$($(CHART_TOOLS_ENV))"
	$(PY) deploy/k8s-tools/gen_kafka_topics.py --check $(CHART_TOPICS)
	if compgen -G 'deploy/prometheus/rules/*.y*ml' >/dev/null || [[ -d $(CHART)/files/prometheus ]]; then
	  diff -r deploy/prometheus/rules $(CHART)/files/prometheus \
	    || { echo "chart-check: $(CHART)/files/prometheus differs from deploy/prometheus/rules: make chart-sync" >&2; exit 1; }
	fi
	mkdir -p $(CHART_RENDER_DIR)
	for case in default all-enabled; do
	  values=(); [[ $$case == default ]] || values=(-f $(CHART)/ci/$$case-values.yaml)
	  "$$HELM" lint --strict --kube-version $(CHART_KUBE_VERSION) $(CHART) "$${values[@]}"
	  "$$HELM" template oms $(CHART) --namespace oms --kube-version $(CHART_KUBE_VERSION) "$${values[@]}" \
	    > $(CHART_RENDER_DIR)/$$case.yaml
	  "$$KUBECONFORM" -strict -summary -kubernetes-version $(CHART_KUBE_VERSION) \
	    -schema-location "$$KUBE_SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json" $(CHART_RENDER_DIR)/$$case.yaml
	  $(PY) deploy/k8s-tools/check_rendered.py --repo . --topics $(CHART_TOPICS) --label $$case $(CHART_RENDER_DIR)/$$case.yaml
	done
	echo "chart-check: $$(( $$(date +%s) - started )) s"

.PHONY: chart-tools chart-topics chart-sync chart-check
