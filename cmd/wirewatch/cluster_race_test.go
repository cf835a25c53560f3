//go:build race

package main

// clusterRace: under -race the test's three in-process NATS servers are too
// slow for TestCluster's timing, so CI=true alone does not run it then.
const clusterRace = true
