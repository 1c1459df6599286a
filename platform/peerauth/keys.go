package peerauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// The files of a key set.
const (
	privateExt = ".key" // one PKCS#8 PEM Ed25519 private key
	publicExt  = ".pub" // one or more PKIX PEM Ed25519 public keys
)

var validName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Generate writes a new key pair for each of names into dir, which it
// creates: NAME.key (mode 0600) and NAME.pub. A name that has a key already
// is refused, so that a deployment's keys are never replaced by mistake: to
// change one, Rotate it.
func Generate(dir string, names ...string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("peerauth: key folder: %w", err)
	}
	for _, name := range names {
		if err := generate(dir, name); err != nil {
			return err
		}
	}
	return nil
}

// EnsureDevelopment makes sure dir holds a key pair for each of names,
// generating the ones that are missing: the development key set of a laptop,
// kept from one run to the next. Processes that start together on one
// machine may all call it: the first to write a key wins and the others
// read that one.
func EnsureDevelopment(dir string, names ...string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("peerauth: key folder: %w", err)
	}
	for _, name := range names {
		if err := generate(dir, name); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return nil
}

// Rotate gives name a new key pair: NAME.key is replaced and the new public
// key is added to NAME.pub, the old ones kept, so that tokens signed with the
// old key still verify until the old public key is dropped from NAME.pub.
func Rotate(dir, name string) error {
	pub, priv, err := newPair(name)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name+publicExt)
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("peerauth: rotate %s: %w", name, err)
	}
	if err := writeAtomically(filepath.Join(dir, name+publicExt), append(old, pub...), 0o644); err != nil {
		return err
	}
	return writeAtomically(filepath.Join(dir, name+privateExt), priv, 0o600)
}

// generate writes name's first key pair; fs.ErrExist when it has one.
func generate(dir, name string) error {
	pub, priv, err := newPair(name)
	if err != nil {
		return err
	}
	// The private key is created exclusively: of two processes generating
	// at once, one writes it and the other finds it. Its public key is
	// written after it, and written whole.
	keyPath := filepath.Join(dir, name+privateExt)
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("peerauth: %s has a key already: %w", name, fs.ErrExist)
		}
		return fmt.Errorf("peerauth: write %s: %w", keyPath, err)
	}
	tmp := keyPath + ".tmp-" + randomSuffix()
	if err := os.WriteFile(tmp, priv, 0o600); err != nil {
		f.Close()
		return fmt.Errorf("peerauth: write %s: %w", tmp, err)
	}
	f.Close()
	if err := writeAtomically(filepath.Join(dir, name+publicExt), pub, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, keyPath); err != nil {
		return fmt.Errorf("peerauth: write %s: %w", keyPath, err)
	}
	return nil
}

// newPair makes a key pair for name, PEM-encoded.
func newPair(name string) (pub, priv []byte, err error) {
	if !validName.MatchString(name) {
		return nil, nil, fmt.Errorf("peerauth: %q is no name for a key", name)
	}
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("peerauth: generate a key for %s: %w", name, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return nil, nil, fmt.Errorf("peerauth: encode %s's key: %w", name, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, nil, fmt.Errorf("peerauth: encode %s's public key: %w", name, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func writeAtomically(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp-" + randomSuffix()
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("peerauth: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("peerauth: write %s: %w", path, err)
	}
	return nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Load reads the key set in dir: every NAME.pub, and the NAME.key of
// whichever names have one here.
func Load(dir string) (*KeySet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("peerauth: key folder: %w", err)
	}
	s := &KeySet{private: map[string]*keyPair{}, public: map[string]publicKey{}}
	for _, e := range entries {
		name, ext := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())), filepath.Ext(e.Name())
		if e.IsDir() || !validName.MatchString(name) || (ext != publicExt && ext != privateExt) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("peerauth: %w", err)
		}
		if ext == privateExt {
			err = s.addPrivate(name, data)
		} else {
			err = s.addPublic(name, data)
		}
		if err != nil {
			return nil, fmt.Errorf("peerauth: %s: %w", e.Name(), err)
		}
	}
	for name, p := range s.private {
		if pub, ok := s.public[p.kid]; !ok || pub.name != name {
			return nil, fmt.Errorf("peerauth: %s%s is not among the public keys in %s%s", name, privateExt, name, publicExt)
		}
	}
	return s, nil
}

func (s *KeySet) addPrivate(name string, data []byte) error {
	private, err := decodePrivate(data)
	if err != nil {
		return err
	}
	key, err := jwkOf(private, keyID(private.Public().(ed25519.PublicKey)))
	if err != nil {
		return err
	}
	s.private[name] = &keyPair{kid: keyID(private.Public().(ed25519.PublicKey)), key: key}
	return nil
}

func decodePrivate(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM private key")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	private, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", parsed)
	}
	return private, nil
}

func (s *KeySet) addPublic(name string, data []byte) error {
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		public, ok := parsed.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("a %T, not an Ed25519 key", parsed)
		}
		kid := keyID(public)
		if other, taken := s.public[kid]; taken && other.name != name {
			return fmt.Errorf("a public key of %s is %s's too", name, other.name)
		}
		s.public[kid] = publicKey{name: name, key: public}
		n++
	}
	if n == 0 {
		return errors.New("no PEM public key in it")
	}
	return nil
}

// keyID names a public key: what a token's kid says it was signed with.
func keyID(public ed25519.PublicKey) string {
	sum := sha256.Sum256(public)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func jwkOf(raw any, kid string) (jwk.Key, error) {
	key, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("import key: %w", err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
		return nil, err
	}
	return key, nil
}
