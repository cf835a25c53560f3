package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/learn"
)

func cmdTopicsTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("topics train", stderr)
	out := fs.String("out", "", "where to write the model (.wwm); default <folder name>.wwm in the working directory")
	holdout := fs.Float64("holdout", 0.2, "share of the examples held out for the report (0: no report)")
	bits := fs.Uint("bits", 20, "hash buckets 2^bits (12..24)")
	c := fs.Float64("c", 1, "SVM cost C (higher fits the examples more closely)")
	minDF := fs.Int("min-df", 1, "keep words seen in at least this many examples")
	unigrams := fs.Bool("unigrams", false, "words only, no bigrams")
	seed := fs.Uint64("seed", 1, "seed of the held-out split")
	quiet := fs.Bool("q", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: wirewatch topics train [flags] FOLDER

Trains a learned topic from example articles: FOLDER holds one folder per
label (for a topic, typically "yes" and "no"), each with one article per
file (first non-empty line the title, the rest the text). A share of the
examples is held out and the model trained on the rest is measured on it
(precision, recall, F1, confusion matrix); the model saved is then trained
on every example.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	dir := fs.Arg(0)
	docs, err := corpus.ReadLabeledFolders(dir)
	if err != nil {
		return fmt.Errorf("topics train: %w", err)
	}
	examples := examples(docs)
	path := *out
	if path == "" {
		path = filepath.Base(filepath.Clean(dir)) + ".wwm"
	}
	opt := learn.Options{Bits: uint8(*bits), C: *c, MinDF: *minDF, Unigrams: *unigrams, Note: "trained from " + dir}
	counts := map[string]int{}
	for _, e := range examples {
		counts[e.Label]++
	}
	fmt.Fprintf(stdout, "%d examples in %d labels %v\n", len(examples), len(counts), counts)

	if *holdout > 0 && *holdout < 1 {
		k := max(2, int(math.Round(1 / *holdout)))
		folds := learn.Folds(examples, k, *seed)
		train, test := learn.Split(examples, folds, 0)
		o := opt
		o.Progress = progressBar(stderr, "held-out model", *quiet)
		m, err := learn.Train(ctx, train, o)
		if err != nil {
			return fmt.Errorf("topics train: %w", err)
		}
		truth := make([]string, len(test))
		pred := make([]string, len(test))
		for i, e := range test {
			truth[i], pred[i] = e.Label, m.Predict(e.Title, e.Text).Label
		}
		fmt.Fprintf(stdout, "\nheld out %d of %d examples (1 in %d, stratified), trained on %d:\n\n", len(test), len(examples), k, len(train))
		learn.NewReport(truth, pred).Format(stdout)
		fmt.Fprintln(stdout)
	}

	opt.Progress = progressBar(stderr, "final model", *quiet)
	start := time.Now()
	m, err := learn.Train(ctx, examples, opt)
	if err != nil {
		return fmt.Errorf("topics train: %w", err)
	}
	took := time.Since(start)
	if err := m.Save(path); err != nil {
		return fmt.Errorf("topics train: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: labels %s, %d features, trained on %d examples in %s\n",
		path, strings.Join(m.Labels, ", "), m.Size(), len(examples), took.Round(time.Millisecond))
	return nil
}

// progressBar draws training progress on w, one line redrawn in place, and
// ends the line when the last stage completes.
func progressBar(w io.Writer, what string, quiet bool) func(stage string, done, total int) {
	if quiet {
		return nil
	}
	return func(stage string, done, total int) {
		const width = 30
		n := width * done / max(total, 1)
		fmt.Fprintf(w, "\r%-15s %-8s [%s%s] %d/%d", what, stage, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
		if stage == "train" && done == total {
			fmt.Fprintln(w)
		}
	}
}
