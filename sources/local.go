package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/wirewatch/wirewatch/pipeline"
)

// ReadSource reads articles for `wirewatch inspect` from src:
//   - an http(s) URL: fetched through f (so the SSRF guard applies) and
//     parsed as a feed;
//   - a directory: every regular file below it, in lexical order
//     (dot-files and dot-directories skipped);
//   - a feed file (RSS, Atom, JSON Feed, possibly gzipped);
//   - an HTML file: one article, titled by its <title>, the page as Content;
//   - any other file (e.g. .txt): one article whose first non-empty line
//     is the title and the rest the Content.
//
// For a directory, files that fail are skipped and their errors joined
// into the returned error, next to the articles of the others. f may be
// nil when src is not a URL.
func ReadSource(ctx context.Context, f *Fetcher, src string) ([]*pipeline.Article, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		if f == nil {
			return nil, newErr(ReasonBadURL, src, errors.New("no fetcher for a URL source"))
		}
		res, err := f.Fetch(ctx, src, Validators{})
		if err != nil {
			return nil, err
		}
		p, err := parseDecoded(res.Body, res.URL, Feed{URL: src}, time.Now())
		if err != nil {
			return nil, err
		}
		return p.arts, nil
	}
	if p, ok := strings.CutPrefix(src, "file://"); ok {
		src = p
	}
	limit := int64(DefaultMaxBodySize)
	if f != nil {
		limit = f.maxBody
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, newErr(ReasonIO, src, err)
	}
	if !fi.IsDir() {
		return readFile(src, limit)
	}
	var arts []*pipeline.Article
	var errs []error
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, newErr(ReasonIO, path, err))
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if path != src && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		a, err := readFile(path, limit)
		if err != nil {
			errs = append(errs, err)
		}
		arts = append(arts, a...)
		return nil
	})
	if err != nil {
		return arts, fmt.Errorf("read %s: %w", src, err)
	}
	return arts, errors.Join(errs...)
}

// readFile reads one local file as a feed, an HTML page or a text article.
func readFile(path string, limit int64) ([]*pipeline.Article, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, newErr(ReasonIO, path, err)
	}
	defer fh.Close()
	raw, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, newErr(ReasonIO, path, err)
	}
	if int64(len(raw)) > limit {
		return nil, newErr(ReasonTooLarge, path, fmt.Errorf("file over %d bytes", limit))
	}
	fi, _ := fh.Stat()
	fetched := time.Now()
	if fi != nil {
		fetched = fi.ModTime()
	}
	raw, err = gunzip(raw, limit)
	if err != nil {
		return nil, withURL(err, path)
	}
	if enc, _ := bomEncoding(raw); enc == nil && bytes.IndexByte(head(raw, 8192), 0) >= 0 {
		return nil, newErr(ReasonNotText, path, errors.New("binary file, neither a feed nor text"))
	}
	body, err := decodeBody(raw, "", limit)
	if err != nil {
		return nil, withURL(err, path)
	}
	feed := Feed{URL: path}
	if !strings.EqualFold(filepath.Ext(path), ".txt") && gofeed.DetectFeedType(bytes.NewReader(head(body, 4096))) != gofeed.FeedTypeUnknown {
		p, err := parseDecoded(body, path, feed, fetched)
		if err != nil {
			return nil, err
		}
		return p.arts, nil
	}
	var title, content string
	if looksLikeHTML(bytes.TrimSpace(body)) {
		title, content = htmlTitle(body), strings.TrimSpace(string(body))
	} else {
		title, content = splitText(string(body))
	}
	if title == "" && content == "" {
		return nil, newErr(ReasonNotAFeed, path, errors.New("empty file"))
	}
	a := &pipeline.Article{
		Version: pipeline.ArticleVersion,
		ID:      ArticleKey(path, "", "", title, content),
		Feed:    path,
		FeedURL: path,
		FeedKey: feed.Key(),
		Title:   title,
		Content: content,
		Fetched: fetched.UTC(),
	}
	return []*pipeline.Article{a}, nil
}

// splitText splits a plain-text article: the first non-empty line is the
// title, the rest (trimmed) the body.
func splitText(s string) (title, body string) {
	s = strings.TrimLeft(s, " \t\r\n\ufeff")
	line, rest, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line), strings.TrimSpace(rest)
}

func head(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
