package peerauth

import (
	"bytes"
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

	"github.com/uberservice/uberservice/platform/tokencache"
)

// The files of a key set.
const (
	privateExt = ".key" // one PKCS#8 PEM Ed25519 private key, mode 0600
	publicExt  = ".pub" // one or more PKIX PEM Ed25519 public keys
)

// DirEnv is the environment variable that names a process's key folder,
// where no flag does: in a container, the folder a Secret is mounted as.
const DirEnv = "UBERSERVICE_KEYS_DIR"

// DevelopmentDir is the folder of the development key set of a machine
// whose embedded Postgres keeps its data in pgDataDir: "keys" beside it, so
// that the keys live and go with the rest of the machine's local state.
func DevelopmentDir(pgDataDir string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(pgDataDir)), "keys")
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Generate writes a new key pair for each of names into dir, which it
// creates: NAME.key (mode 0600) and NAME.pub. A name that has a NAME.key or
// a NAME.pub in dir already is refused, and then nothing is written, so that
// a deployment's keys are never replaced by mistake: to change one, Rotate
// it.
func Generate(dir string, names ...string) error {
	if len(names) == 0 {
		return errors.New("peerauth: generate: no names")
	}
	if dup := duplicate(names); dup != "" {
		return fmt.Errorf("peerauth: generate: %s is named twice", dup)
	}
	for _, name := range names {
		if err := checkName(name); err != nil {
			return err
		}
		for _, ext := range []string{privateExt, publicExt} {
			if _, err := os.Lstat(filepath.Join(dir, name+ext)); err == nil {
				return fmt.Errorf("peerauth: %s has keys in %s already (%s%s): %w", name, dir, name, ext, fs.ErrExist)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("peerauth: key folder: %w", err)
	}
	for _, name := range names {
		private, err := newKey(name)
		if err != nil {
			return err
		}
		if err := createKey(dir, name, private); err != nil {
			return err
		}
		if err := writeAtomically(filepath.Join(dir, name+publicExt), encodePublic(private.Public().(ed25519.PublicKey)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func duplicate(names []string) string {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}

// EnsureDevelopment makes sure dir holds a key pair for each of names,
// generating the ones that are missing and keeping the others: the
// development key set of a laptop, kept from one run to the next.
//
// Processes that start together on one machine may all call it at once:
// the first to write a name's key wins, the others use that one, and when
// it returns, dir holds every name's key and public key, whole.
func EnsureDevelopment(dir string, names ...string) error {
	for _, name := range names {
		if err := checkName(name); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("peerauth: key folder: %w", err)
	}
	for _, name := range names {
		if err := ensure(dir, name); err != nil {
			return err
		}
	}
	return nil
}

func ensure(dir, name string) error {
	keyPath := filepath.Join(dir, name+privateExt)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		private, err := newKey(name)
		if err != nil {
			return err
		}
		if err := createKey(dir, name, private); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("peerauth: %w", err)
	}
	// Whoever wrote NAME.key, its public key must be in NAME.pub: each
	// process that ensures it writes the same file, so none can undo
	// another's work.
	data, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("peerauth: %w", err)
	}
	private, err := decodePrivate(data)
	if err != nil {
		return fmt.Errorf("peerauth: %s: %w", keyPath, err)
	}
	return addPublicKey(dir, name, private.Public().(ed25519.PublicKey))
}

// addPublicKey adds key to NAME.pub unless it is there already.
func addPublicKey(dir, name string, key ed25519.PublicKey) error {
	path := filepath.Join(dir, name+publicExt)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("peerauth: %w", err)
	}
	if len(old) > 0 {
		keys, err := decodePublic(old)
		if err != nil {
			return fmt.Errorf("peerauth: %s: %w", path, err)
		}
		for _, k := range keys {
			if k.Equal(key) {
				return nil
			}
		}
		if !bytes.HasSuffix(old, []byte("\n")) {
			old = append(old, '\n')
		}
	}
	return writeAtomically(path, append(old, encodePublic(key)...), 0o644)
}

// Rotate gives name a new key pair: the new public key is added to
// NAME.pub, the old ones kept, then NAME.key is replaced, so that tokens
// signed with the old key still verify until Retire drops its public key.
func Rotate(dir, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, name+publicExt)); err != nil {
		return fmt.Errorf("peerauth: rotate %s: %w (Generate its first key)", name, err)
	}
	private, err := newKey(name)
	if err != nil {
		return err
	}
	if err := addPublicKey(dir, name, private.Public().(ed25519.PublicKey)); err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return fmt.Errorf("peerauth: encode %s's key: %w", name, err)
	}
	return writeAtomically(filepath.Join(dir, name+privateExt), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// Retire ends a rotation of name: of the public keys in NAME.pub it keeps
// only the current one, that of NAME.key where dir holds it, else the last
// one (the newest, as Rotate appends). Tokens signed with the others are
// refused from then on, so retire a key only once they have expired:
// MaxLifetime after the new NAME.key is in use everywhere.
func Retire(dir, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	path := filepath.Join(dir, name+publicExt)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("peerauth: retire %s's old keys: %w", name, err)
	}
	keys, err := decodePublic(data)
	if err != nil {
		return fmt.Errorf("peerauth: %s: %w", path, err)
	}
	current := keys[len(keys)-1]
	if data, err := os.ReadFile(filepath.Join(dir, name+privateExt)); err == nil {
		private, err := decodePrivate(data)
		if err != nil {
			return fmt.Errorf("peerauth: %s%s: %w", name, privateExt, err)
		}
		current = private.Public().(ed25519.PublicKey)
		found := false
		for _, k := range keys {
			found = found || k.Equal(current)
		}
		if !found {
			return fmt.Errorf("peerauth: %s%s is not among the public keys in %s%s: retiring them all would lock %s out", name, privateExt, name, publicExt, name)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("peerauth: %w", err)
	}
	if len(keys) == 1 {
		return nil
	}
	return writeAtomically(path, encodePublic(current), 0o644)
}

func checkName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("peerauth: %q is no name for a key (lower-case letters, digits, - and _)", name)
	}
	return nil
}

func newKey(name string) (ed25519.PrivateKey, error) {
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("peerauth: generate a key for %s: %w", name, err)
	}
	return private, nil
}

// createKey writes NAME.key, whole, unless it exists: fs.ErrExist then. It
// writes the key to a file of its own and links it into place, which fails
// if NAME.key exists, so that no process ever reads a half-written key.
func createKey(dir, name string, private ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return fmt.Errorf("peerauth: encode %s's key: %w", name, err)
	}
	path := filepath.Join(dir, name+privateExt)
	tmp := tempName(path)
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("peerauth: write %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("peerauth: %s has a key already: %w", name, fs.ErrExist)
		}
		return fmt.Errorf("peerauth: write %s: %w", path, err)
	}
	return nil
}

func encodePublic(key ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		panic(err) // an Ed25519 public key always encodes
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
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

// decodePublic reads the PEM public keys in data, at least one.
func decodePublic(data []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("a PEM %s, not a PUBLIC KEY", block.Type)
		}
		parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		public, ok := parsed.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("a %T, not an Ed25519 key", parsed)
		}
		keys = append(keys, public)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key in it")
	}
	if len(bytes.TrimSpace(data)) > 0 {
		return nil, errors.New("something other than PEM public keys in it")
	}
	return keys, nil
}

func writeAtomically(path string, data []byte, mode os.FileMode) error {
	tmp := tempName(path)
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("peerauth: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("peerauth: write %s: %w", path, err)
	}
	return nil
}

// tempName is a file beside path for writing path's next content, hidden
// from Load.
func tempName(path string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+base64.RawURLEncoding.EncodeToString(b[:]))
}

// Load reads the key set in dir: every NAME.pub, and the NAME.key of
// whichever names have one here. Other files, and hidden ones, are
// ignored, so dir may be a Kubernetes Secret's volume.
func Load(dir string) (*KeySet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("peerauth: key folder: %w", err)
	}
	s := &KeySet{private: map[string]*keyPair{}, public: map[string]publicKey{}, verified: tokencache.New[Claims](0)}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		name := strings.TrimSuffix(e.Name(), ext)
		if !validName.MatchString(name) || (ext != publicExt && ext != privateExt) {
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
			return nil, fmt.Errorf("peerauth: %s: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	if len(s.public) == 0 {
		return nil, fmt.Errorf("peerauth: no public keys (NAME%s) in %s", publicExt, dir)
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
	kid := keyID(private.Public().(ed25519.PublicKey))
	key, err := jwk.Import(private)
	if err != nil {
		return fmt.Errorf("import key: %w", err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return err
	}
	if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
		return err
	}
	s.private[name] = &keyPair{kid: kid, key: key}
	return nil
}

func (s *KeySet) addPublic(name string, data []byte) error {
	keys, err := decodePublic(data)
	if err != nil {
		return err
	}
	for _, key := range keys {
		kid := keyID(key)
		if other, taken := s.public[kid]; taken && other.name != name {
			return fmt.Errorf("a public key of %s is %s's too", name, other.name)
		}
		s.public[kid] = publicKey{name: name, key: key}
	}
	return nil
}

// keyID names a public key: what a token's kid says it was signed with.
func keyID(public ed25519.PublicKey) string {
	sum := sha256.Sum256(public)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
