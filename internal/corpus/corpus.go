// Package corpus finds the real test data that lives next to the
// repository, never in it: the seed articles (../shared/seeds from the repo
// root) and the datasets (../shared/datasets), and reads the rss-2026-01
// feed entries as articles. Tests, benchmarks and evaluation commands share
// it, so every one of them finds the data the same way, honours the same
// environment variables and says the same thing when it is missing.
package corpus

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The environment variables that override where the data is.
const (
	SeedsEnv    = "WIREWATCH_SEEDS"    // the seeds folder
	DatasetsEnv = "WIREWATCH_DATASETS" // the datasets folder
)

// RepoRoot returns the repository root: the nearest directory, from the
// working directory up, that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it")
		}
		dir = parent
	}
}

// Locate returns the folder named by the environment variable env when it
// is set, else <repo root>/../shared/<rel> (rel in slash form, such as
// "seeds" or "datasets/article-extraction"). The error says where it
// looked and which variable to set when the folder is not there (or the
// repository root cannot be found); the path is returned with it when
// known, for messages.
func Locate(env, rel string) (string, error) {
	dir := os.Getenv(env)
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("looking for ../shared/%s from the repository root (set %s to its location): %w", rel, env, err)
		}
		dir = filepath.Join(root, "..", "shared", filepath.FromSlash(rel))
	}
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a directory: %w", dir, fs.ErrNotExist)
	}
	if err != nil {
		return dir, fmt.Errorf("test data not found at %s (set %s to its location): %w", dir, env, err)
	}
	return dir, nil
}

// Dir is Locate for a test or benchmark: when the folder is absent it
// skips with the reason, or fails when the environment has CI=true (CI
// must have the data).
func Dir(tb testing.TB, env, rel string) string {
	tb.Helper()
	dir, err := Locate(env, rel)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	return dir
}

// Seeds returns the seeds folder ($WIREWATCH_SEEDS, else ../shared/seeds),
// skipping (failing under CI=true) when it is absent.
func Seeds(tb testing.TB) string {
	tb.Helper()
	return Dir(tb, SeedsEnv, "seeds")
}

// Datasets returns the datasets folder ($WIREWATCH_DATASETS, else
// ../shared/datasets), skipping (failing under CI=true) when it is absent.
func Datasets(tb testing.TB) string {
	tb.Helper()
	return Dir(tb, DatasetsEnv, "datasets")
}

// Dataset returns one folder of the datasets ("feeds", "rss-2026-01"),
// skipping (failing under CI=true) when it or the datasets are absent.
func Dataset(tb testing.TB, name string) string {
	tb.Helper()
	dir := filepath.Join(Datasets(tb), name)
	if _, err := os.Stat(dir); err != nil {
		err = fmt.Errorf("dataset %s not found at %s (set %s to the datasets folder): %w", name, dir, DatasetsEnv, err)
		if os.Getenv("CI") == "true" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	return dir
}

// SeedFile returns the path of seed id ("000"): the one file <id>_*.txt of
// the seeds folder.
func SeedFile(tb testing.TB, id string) string {
	tb.Helper()
	dir := Seeds(tb)
	files, err := filepath.Glob(filepath.Join(dir, id+"_*.txt"))
	if err != nil || len(files) != 1 {
		tb.Fatalf("seed %s: want one file %s_*.txt in %s, got %v (%v)", id, id, dir, files, err)
	}
	return files[0]
}

// ReadSeed returns the text of seed id ("000").
func ReadSeed(tb testing.TB, id string) string {
	tb.Helper()
	b, err := os.ReadFile(SeedFile(tb, id))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// SplitTitle splits a seed's raw text the way the seeds are written: the
// title is the first non-empty line, the body the rest; both are trimmed
// and CRLF line ends become LF.
func SplitTitle(raw string) (title, body string) {
	s := strings.TrimLeft(strings.ReplaceAll(raw, "\r\n", "\n"), " \t\r\n")
	title, body, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(title), strings.TrimSpace(body)
}
