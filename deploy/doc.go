// Package deploy holds no code: it is the home of the deployment files
// (Dockerfile, compose, Kubernetes, systemd, Prometheus rules, Grafana
// dashboards) and of the tests that check them. The main one,
// TestPromQLAgainstRealPrometheus, runs the daemon on local sample feeds,
// lets a real Prometheus scrape it, and evaluates every PromQL expression of
// every dashboard and rule file. See deploy/README.md.
package deploy
