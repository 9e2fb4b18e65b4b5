# Sourced by run.sh: the ports and URLs of the local stack. Every value can be overridden from
# the environment (e.g. OMS_GATEWAY_PORT=9000 make run).
: "${OMS_LOCAL_DIR:=$REPO_ROOT/.local}"
: "${OMS_LOCAL_KAFKA_PORT:=19092}"
: "${OMS_LOCAL_MONGO_PORT:=27018}"
: "${OMS_KAFKA_BOOTSTRAP:=127.0.0.1:$OMS_LOCAL_KAFKA_PORT}"
: "${OMS_MONGO_URL:=mongodb://127.0.0.1:$OMS_LOCAL_MONGO_PORT}"
: "${OMS_GATEWAY_PORT:=8000}"
# The gateway's /metrics is on a port of its own: its API port is the public one.
: "${OMS_GATEWAY_METRICS_PORT:=9100}"
: "${OMS_ORDER_PORT:=8101}"
: "${OMS_CATALOG_PORT:=8102}"
: "${OMS_PAYMENT_PORT:=8103}"
: "${OMS_FULFILMENT_PORT:=8104}"
: "${OMS_NOTIFICATION_PORT:=8105}"
: "${OMS_MESSAGING_PORT:=8106}"
: "${OMS_GROUPBUY_PORT:=8107}"
: "${OMS_CONSOLE_PORT:=8108}"
: "${OMS_WEBHOOKS_PORT:=8109}"
: "${OMS_SMTP_HOST:=127.0.0.1}"
: "${OMS_SMTP_PORT:=8025}"
: "${OMS_MAILDIR:=$OMS_LOCAL_DIR/mail}"
: "${OMS_PUBLIC_URL:=http://127.0.0.1:$OMS_GATEWAY_PORT}"
: "${OMS_ORDER_URL:=http://127.0.0.1:$OMS_ORDER_PORT}"
: "${OMS_CATALOG_URL:=http://127.0.0.1:$OMS_CATALOG_PORT}"
: "${OMS_PAYMENT_URL:=http://127.0.0.1:$OMS_PAYMENT_PORT}"
: "${OMS_FULFILMENT_URL:=http://127.0.0.1:$OMS_FULFILMENT_PORT}"
: "${OMS_NOTIFICATION_URL:=http://127.0.0.1:$OMS_NOTIFICATION_PORT}"
: "${OMS_MESSAGING_URL:=http://127.0.0.1:$OMS_MESSAGING_PORT}"
: "${OMS_GROUPBUY_URL:=http://127.0.0.1:$OMS_GROUPBUY_PORT}"
: "${OMS_CONSOLE_URL:=http://127.0.0.1:$OMS_CONSOLE_PORT}"
: "${OMS_WEBHOOKS_URL:=http://127.0.0.1:$OMS_WEBHOOKS_PORT}"
# The console calls the public API, as the signed-in user, through the gateway.
: "${OMS_GATEWAY_URL:=http://127.0.0.1:$OMS_GATEWAY_PORT}"
: "${OMS_SANDBOX_WEBHOOK_URL:=$OMS_PUBLIC_URL/webhooks/payments/sandbox}"
: "${OMS_PUBLIC_CHECKOUT_BASE_URL:=$OMS_PUBLIC_URL}"
: "${OMS_LOG_JSON:=false}"
# Prometheus and Alertmanager (deploy/local/observability.py). Debian's own systemd units use 9090/9093
# too: on a host where they run, choose others (OMS_PROMETHEUS_PORT=9190 make run).
: "${OMS_PROMETHEUS_PORT:=9090}"
: "${OMS_ALERTMANAGER_PORT:=9093}"
# Alertmanager posts every alert to the notification service's receiver, with this bearer token
# (the notification service checks the same variable).
: "${OMS_ALERTMANAGER_WEBHOOK_URL:=$OMS_NOTIFICATION_URL/alertmanager/webhook}"
: "${OMS_ALERTMANAGER_TOKEN:=local-alertmanager-token}"
# Outbound webhooks: locally a storefront's receiver is on this machine (loopback), which production refuses.
: "${OMS_WEBHOOK_ALLOW_PRIVATE_URLS:=true}"
# Carrier tracking webhooks are signed with a secret per carrier (a dev one for the local stack).
if [[ -z "${OMS_CARRIER_WEBHOOK_SECRETS:-}" ]]; then
    OMS_CARRIER_WEBHOOK_SECRETS='{"demo-carrier": "demo-carrier-secret"}'
fi
export OMS_LOCAL_DIR OMS_LOCAL_KAFKA_PORT OMS_LOCAL_MONGO_PORT OMS_KAFKA_BOOTSTRAP OMS_MONGO_URL \
  OMS_GATEWAY_PORT OMS_GATEWAY_METRICS_PORT OMS_ORDER_PORT OMS_CATALOG_PORT OMS_PAYMENT_PORT OMS_FULFILMENT_PORT \
  OMS_NOTIFICATION_PORT OMS_MESSAGING_PORT OMS_GROUPBUY_PORT OMS_CONSOLE_PORT OMS_WEBHOOKS_PORT OMS_SMTP_HOST OMS_SMTP_PORT OMS_MAILDIR OMS_PUBLIC_URL \
  OMS_ORDER_URL OMS_CATALOG_URL OMS_PAYMENT_URL OMS_FULFILMENT_URL OMS_NOTIFICATION_URL OMS_MESSAGING_URL OMS_GROUPBUY_URL \
  OMS_CONSOLE_URL OMS_WEBHOOKS_URL OMS_GATEWAY_URL \
  OMS_SANDBOX_WEBHOOK_URL OMS_PUBLIC_CHECKOUT_BASE_URL OMS_LOG_JSON OMS_CARRIER_WEBHOOK_SECRETS \
  OMS_PROMETHEUS_PORT OMS_ALERTMANAGER_PORT OMS_ALERTMANAGER_WEBHOOK_URL OMS_ALERTMANAGER_TOKEN \
  OMS_WEBHOOK_ALLOW_PRIVATE_URLS
