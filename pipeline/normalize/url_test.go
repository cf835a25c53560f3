package normalize

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalURL(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"already canonical", "https://example.com/news/story-1", "https://example.com/news/story-1"},
		{"utm params", "https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x", "https://example.com/a"},
		{"tracking mixed with real, sorted", "https://example.com/a?z=1&utm_term=t&b=2&fbclid=abc&a=3", "https://example.com/a?a=3&b=2&z=1"},
		{"click ids", "https://example.com/a?gclid=1&dclid=2&msclkid=3&yclid=4&igshid=5&mc_cid=6&mc_eid=7", "https://example.com/a"},
		{"at_ params", "https://www.bbc.co.uk/news/world-1?at_medium=RSS&at_campaign=KARANGA&at_custom1=x", "https://www.bbc.co.uk/news/world-1"},
		{"ref and others", "https://example.com/a?ref=hn&ref_src=twsrc&ocid=msn&cmpid=x&_ga=1&spm=a.b&smid=tw&partner=rss", "https://example.com/a"},
		{"tracking key case-insensitive", "https://example.com/a?UTM_Source=x&FBCLID=y&id=7", "https://example.com/a?id=7"},
		{"repeated keys keep order", "https://example.com/a?tag=b&id=1&tag=a", "https://example.com/a?id=1&tag=b&tag=a"},
		{"only tracking drops ?", "https://example.com/a?utm_source=x", "https://example.com/a"},
		{"empty query", "https://example.com/a?", "https://example.com/a"},
		{"empty pairs", "https://example.com/a?&&x=1&", "https://example.com/a?x=1"},
		{"fragment dropped", "https://example.com/a#comments", "https://example.com/a"},
		{"fragment and tracking", "https://example.com/a?utm_source=x#top", "https://example.com/a"},
		{"scheme and host case", "HTTPS://Example.COM/Path/To", "https://example.com/Path/To"},
		{"default http port", "http://example.com:80/a", "http://example.com/a"},
		{"default https port", "https://example.com:443/a", "https://example.com/a"},
		{"other port kept", "https://example.com:8443/a", "https://example.com:8443/a"},
		{"port 443 on http kept", "http://example.com:443/a", "http://example.com:443/a"},
		{"empty port", "https://example.com:/a", "https://example.com/a"},
		{"empty path", "https://example.com", "https://example.com/"},
		{"empty path with query", "https://example.com?id=1", "https://example.com/?id=1"},
		{"duplicate slashes", "https://example.com//news///story", "https://example.com/news/story"},
		{"trailing slash kept", "https://example.com/news/", "https://example.com/news/"},
		{"no trailing slash kept", "https://example.com/news", "https://example.com/news"},
		{"dot segments", "https://example.com/a/./b/../c", "https://example.com/a/c"},
		{"percent escapes", "https://example.com/caf%c3%a9/%7Euser/%41", "https://example.com/caf%C3%A9/~user/A"},
		{"non-ASCII path", "https://example.com/café", "https://example.com/caf%C3%A9"},
		{"reserved escape kept", "https://example.com/a%2Fb", "https://example.com/a%2Fb"},
		{"query escapes", "https://example.com/s?q=a%2bb&x=%7e", "https://example.com/s?q=a%2Bb&x=~"},
		{"query space escaped", "https://example.com/s?q=a b", "https://example.com/s?q=a%20b"},
		{"user info dropped", "https://user:pass@example.com/a", "https://example.com/a"},
		{"trailing dot host", "https://example.com./a", "https://example.com/a"},
		{"IDN host", "https://Bücher.example/über", "https://xn--bcher-kva.example/%C3%BCber"},
		{"IDN host punycode stays", "https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"},
		{"IDN cyrillic", "http://пример.испытание/", "http://xn--e1afmkfd.xn--80akhbyknj4f/"},
		{"IPv4", "http://192.0.2.1:80/x", "http://192.0.2.1/x"},
		{"IPv6", "http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"},
		{"whitespace trimmed", "  https://example.com/a \n", "https://example.com/a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CanonicalURL(c.in)
			if err != nil {
				t.Fatalf("CanonicalURL(%q): %v", c.in, err)
			}
			if got != c.want {
				t.Errorf("CanonicalURL(%q) = %q, want %q", c.in, got, c.want)
			}
			again, err := CanonicalURL(got)
			if err != nil || again != got {
				t.Errorf("not idempotent: CanonicalURL(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestCanonicalURLInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"/news/story-1",
		"news/story-1",
		"//example.com/a",
		"example.com/a",
		"mailto:desk@example.com",
		"ftp://example.com/file",
		"javascript:alert(1)",
		"http://",
		"http:///path",
		"http://exa mple.com/",
		"http://example.com:99999/",
		"http://example.com:port/",
		"http://[::1/",
		"http://%zz/",
		"http://a..b/",
		"http://ex\x00ample.com/",
	} {
		t.Run(in, func(t *testing.T) {
			got, err := CanonicalURL(in)
			if err == nil {
				t.Fatalf("CanonicalURL(%q) = %q, want an error", in, got)
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("error %v does not wrap ErrInvalidURL", err)
			}
			if !strings.Contains(err.Error(), strings.TrimSpace(in)) && strings.TrimSpace(in) != "" && !strings.ContainsRune(in, 0) {
				t.Errorf("error %q does not name the URL", err)
			}
			if got != "" {
				t.Errorf("got %q with an error", got)
			}
		})
	}
}
