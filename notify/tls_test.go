package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/wirewatch/wirewatch/config"
)

// testCert is a self-signed certificate for 127.0.0.1, and its PEM.
func testCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wirewatch test relay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// Email over STARTTLS and implicit TLS to a real SMTP server whose CA is
// trusted through smtp.ca_file, with the password from password_file;
// without the CA the delivery fails as a permanent TLS error.
func TestEmailTLS(t *testing.T) {
	cert, caPEM := testCert(t)
	dir := t.TempDir()
	ca, pw := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "smtp_password")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("pw-"+secretToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			f := &fakeDest{}
			l := listen(t)
			srv := smtp.NewServer(smtpBackend{f})
			srv.Domain = "localhost"
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
			var ln net.Listener = l
			if mode == "tls" {
				ln = tls.NewListener(l, srv.TLSConfig)
			}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Close() })
			_, port, _ := net.SplitHostPort(l.Addr().String())
			yaml := `subscriptions:
  - name: brief
    email:
      to: [analyst@example.org]
      smtp: {host: 127.0.0.1, port: ` + port + `, tls: ` + mode + `, username: wirewatch, password_file: "` + pw + `", ca_file: "` + ca + `"}
`
			cfg, err := config.Parse("w.yaml", []byte(yaml), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			subs, err := FromConfig(cfg.Subscriptions, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			n := &Notification{Subscription: "brief", ID: "x1", Alert: testAlert("a1", "ceasefire")}
			if err := subs[0].Destination.Send(t.Context(), n); err != nil {
				t.Fatalf("send over %s: %v", mode, err)
			}
			if got := f.accepted(); len(got) != 1 || !strings.Contains(got[0].body, "news.example/a1") {
				t.Fatalf("accepted %d mails", len(got))
			}
			// The system pool does not know the test CA.
			e := *subs[0].Destination.(*Email)
			e.RootCAs = nil
			err = e.Send(t.Context(), n)
			if ce := classify(err); err == nil || ce.Reason != "tls" || ce.Retryable {
				t.Errorf("untrusted certificate: %v (%+v)", err, ce)
			}
			if err != nil && strings.Contains(err.Error(), secretToken) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// Secrets from files: trimmed; an empty file is refused naming the file,
// never a value.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	hook, sec, empty := filepath.Join(dir, "hook"), filepath.Join(dir, "sec"), filepath.Join(dir, "empty")
	_ = os.WriteFile(hook, []byte("  https://hooks.example.org/x?token="+secretToken+"\n"), 0o600)
	_ = os.WriteFile(sec, []byte("k-"+secretToken), 0o600)
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	parse := func(y string) []config.Subscription {
		cfg, err := config.Parse("w.yaml", []byte(y), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Subscriptions
	}
	subs, err := FromConfig(parse(`subscriptions:
  - name: desk
    webhook: {url_file: "`+hook+`", secret_file: "`+sec+`"}
    digest: every 30m
    rate_limit: 20/h
`), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	w := subs[0].Destination.(*Webhook)
	if w.URL != "https://hooks.example.org/x?token="+secretToken || string(w.Secret) != "k-"+secretToken {
		t.Errorf("webhook from files: %q", w.URL)
	}
	if subs[0].Digest.String() != "every 30m" || subs[0].RateLimit.N != 20 || subs[0].RateLimit.Per != time.Hour {
		t.Errorf("digest %v, rate %v", subs[0].Digest, subs[0].RateLimit)
	}
	_, err = FromConfig(parse(`subscriptions:
  - name: chan
    slack: {webhook_url_file: "`+empty+`"}
`), os.Getenv)
	if err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty secret file: %v", err)
	}
	_, err = config.Parse("w.yaml", []byte(`subscriptions:
  - name: chan
    slack: {webhook_url_file: a, webhook_url_env: B}
    digest: weekly
    rate_limit: lots
`), func(string) string { return "" })
	for _, want := range []string{"not both", "subscriptions[0].digest", "subscriptions[0].rate_limit"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q: %v", want, err)
		}
	}
}

// FuzzRetryAfter: a destination's Retry-After header is untrusted; no
// value panics or yields a negative delay.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "7", "-1", "soon", "99999999999999999999", now.Add(time.Minute).Format(http1123), "Wed, 21 Oct 2015 07:28:00 GMT", strconv.Itoa(1 << 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if d := retryAfter(v, now); d < 0 {
			t.Fatalf("retryAfter(%q) = %v", v, d)
		}
	})
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
