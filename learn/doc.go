// Package learn trains and runs learned topics: text classifiers built
// from labelled example articles.
//
// Features are hashed word unigrams and bigrams of the folded words
// (internal/fold, so a model sees words the way topic queries do), weighted
// by sublinear TF-IDF (1 + log tf, smoothed idf) and L2-normalised. The
// model is linear, one-vs-rest: one L2-regularised L2-loss linear SVM per
// label, trained by dual coordinate descent (the LIBLINEAR method, Hsieh
// et al. 2008), one label per goroutine, over features scaled by their
// naive Bayes log-count ratio for the label (NB-SVM, Wang and Manning
// 2012; the scaling folds into the weights, so inference is one sparse
// dot product per label). Only the hash buckets seen in
// training are kept, so a model is small; it is saved as a versioned binary
// file (see WriteTo) that a topic names.
//
// The package also holds what evaluation needs: a multinomial naive Bayes
// baseline, stratified k-fold splits and a report with precision, recall,
// F1 and the confusion matrix.
package learn
