package natsutil

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
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

func startServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

func TestConnectUserPassword(t *testing.T) {
	s := startServer(t, &server.Options{Username: "ww", Password: "s3cret"})
	if _, err := Connect(ClientOptions{URL: s.ClientURL(), User: "ww", Password: "wrong"}); err == nil {
		t.Fatal("a wrong password connected")
	}
	inURL := strings.Replace(s.ClientURL(), "nats://", "nats://ww:wrong-pass@", 1)
	if _, err := Connect(ClientOptions{URL: inURL}); err == nil || strings.Contains(err.Error(), "wrong-pass") {
		t.Fatalf("credentials in the URL: error %v", err)
	}
	nc, err := Connect(ClientOptions{URL: s.ClientURL(), User: "ww", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

func TestConnectToken(t *testing.T) {
	s := startServer(t, &server.Options{Authorization: "tok-123"})
	if _, err := Connect(ClientOptions{URL: s.ClientURL()}); err == nil {
		t.Fatal("connected without the token")
	}
	nc, err := Connect(ClientOptions{URL: s.ClientURL(), Token: "tok-123"})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

// TLS with a CA and a client certificate the server verifies.
func TestConnectMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, dir, "ca", nil, nil)
	newCert(t, dir, "server", ca, caKey)
	newCert(t, dir, "client", ca, caKey)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	serverCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, &server.Options{
		TLS: true, TLSVerify: true, TLSTimeout: 5,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12},
	})
	url := strings.Replace(s.ClientURL(), "nats://", "tls://", 1)
	if _, err := Connect(ClientOptions{URL: url, CA: filepath.Join(dir, "ca.pem")}); err == nil {
		t.Fatal("connected without a client certificate")
	}
	nc, err := Connect(ClientOptions{URL: url, CA: filepath.Join(dir, "ca.pem"),
		Cert: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client-key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

// newCert writes name.pem and name-key.pem, signed by parent (self-signed CA when nil).
func newCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:    []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
