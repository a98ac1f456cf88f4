package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// LoadOptions tune Load and Parse. The zero value is ready to use.
type LoadOptions struct {
	// Strict makes a missing secret (unset variable, absent file) an error
	// instead of a warning.
	Strict bool
	// MaxSize is the largest file accepted, in bytes; 0 means DefaultMaxSize.
	MaxSize int64
	// LookupEnv reads environment variables for the secret checks; nil
	// means os.LookupEnv. (SecretRef.Resolve always reads the process
	// environment.)
	LookupEnv func(string) (string, bool)
}

func (o LoadOptions) maxSize() int64 {
	if o.MaxSize > 0 {
		return o.MaxSize
	}
	return DefaultMaxSize
}

func (o LoadOptions) lookupEnv() func(string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv
	}
	return os.LookupEnv
}

// Load reads and validates the file at path. It returns the configuration
// (nil when any diagnostic is an error) and every diagnostic, sorted by
// position. The error is reserved for I/O: the file could not be opened or
// read.
func Load(path string, opts LoadOptions) (*Config, []Diagnostic, error) {
	data, diag, err := readFile(path, opts.maxSize())
	if err != nil {
		return nil, nil, err
	}
	if diag != nil {
		diag.File = path
		return nil, []Diagnostic{*diag}, nil
	}
	cfg, diags := Parse(path, data, opts)
	return cfg, diags, nil
}

// readFile reads at most maxSize bytes; a larger file yields a diagnostic
// without reading it.
func readFile(path string, maxSize int64) ([]byte, *Diagnostic, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("stat config: %w", err)
	}
	if info.IsDir() {
		return nil, nil, fmt.Errorf("read config %s: is a directory", path)
	}
	if info.Mode().IsRegular() && info.Size() > maxSize {
		return nil, tooLarge(info.Size(), maxSize), nil
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	return data, nil, nil
}

// Parse validates data, naming it name in diagnostics; a relative secret
// file is resolved against name's directory. It returns the configuration
// (nil when any diagnostic is an error) and every diagnostic, sorted by
// position.
func Parse(name string, data []byte, opts LoadOptions) (*Config, []Diagnostic) {
	doc, diags := readDocument(data, opts.maxSize())
	if doc == nil {
		return nil, finish(name, diags)
	}
	schemaDiags, err := checkSchema(doc)
	if err != nil {
		diags = append(diags, *fileDiag(1, 1, "internal error: %v", err))
	}
	diags = append(diags, schemaDiags...)
	cfg, decoded := decode(doc, filepath.Dir(name))
	diags = append(diags, checkSemantics(doc, cfg, decoded, opts)...)
	if !HasErrors(diags) {
		for section, ok := range decoded {
			if !ok { // cannot happen once the schema passed; never hand out a half-decoded config
				diags = append(diags, *fileDiag(1, 1, "internal error: section %s passed the schema but did not decode", section))
			}
		}
	}
	diags = finish(name, diags)
	if HasErrors(diags) {
		return nil, diags
	}
	cfg.File = name
	cfg.namePos = doc.at("/account/name")
	cfg.ApplyDefaults()
	cfg.normalize()
	return cfg, diags
}

func finish(name string, diags []Diagnostic) []Diagnostic {
	for i := range diags {
		diags[i].File = name
	}
	return SortDiagnostics(diags)
}

// decode fills a Config section by section, so that one section the schema
// rejected does not keep the others from their semantic checks. It reports
// which sections decoded.
func decode(doc *document, dir string) (*Config, map[string]bool) {
	root, _ := doc.root.(map[string]any)
	cfg := &Config{}
	callbacks := &Callbacks{Prune: true}
	writeback := &Writeback{Enabled: true}
	targets := map[string]any{
		"apiVersion": &cfg.APIVersion, "account": &cfg.Account, "suspend": &cfg.Suspend,
		"helpdesk": &cfg.Helpdesk, "sync": &cfg.Sync, "userMappings": &cfg.UserMappings,
		"picklists": &cfg.Picklists, "callbacks": callbacks, "widgets": &cfg.Widgets,
		"writeback": writeback,
		"smoke":     &cfg.Smoke,
	}
	decoded := map[string]bool{}
	for key, target := range targets {
		raw, present := root[key]
		decoded[key] = !present || decodeValue(raw, target) == nil
		if key == "callbacks" && present && decoded[key] {
			cfg.Callbacks = callbacks
		}
		if key == "writeback" && present && decoded[key] {
			cfg.Writeback = writeback
		}
	}
	for _, f := range secretFields(cfg, decoded) {
		f.ref.dir = dir
	}
	return cfg, decoded
}

func decodeValue(raw, target any) error {
	data, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("encode section: %w", err)
	}
	if err := json.Unmarshal(data, target); err != nil {
		return fmt.Errorf("decode section: %w", err)
	}
	return nil
}

// secretField is a secret reference and its JSON pointer.
type secretField struct {
	ptr string
	ref *SecretRef
}

// secretFields lists the secret references of the decoded sections.
func secretFields(c *Config, decoded map[string]bool) []secretField {
	var out []secretField
	add := func(ptr string, ref *SecretRef) { out = append(out, secretField{ptr, ref}) }
	h := c.Helpdesk
	if decoded["helpdesk"] {
		switch {
		case h.ConnectWise != nil:
			add("/helpdesk/connectwise/publicKey", &h.ConnectWise.PublicKey)
			add("/helpdesk/connectwise/privateKey", &h.ConnectWise.PrivateKey)
		case h.Autotask != nil:
			add("/helpdesk/autotask/secret", &h.Autotask.Secret)
			add("/helpdesk/autotask/integrationCode", &h.Autotask.IntegrationCode)
		case h.ZohoDesk != nil:
			add("/helpdesk/zohodesk/clientSecret", &h.ZohoDesk.ClientSecret)
			add("/helpdesk/zohodesk/refreshToken", &h.ZohoDesk.RefreshToken)
		case h.HaloPSA != nil:
			add("/helpdesk/halopsa/clientSecret", &h.HaloPSA.ClientSecret)
		}
	}
	if decoded["callbacks"] && c.Callbacks != nil {
		add("/callbacks/secret", &c.Callbacks.Secret)
	}
	if decoded["writeback"] && c.Writeback != nil && c.Writeback.APIToken != nil {
		add("/writeback/apiToken", c.Writeback.APIToken)
	}
	return out
}

// NamedSecretRef is a secret reference and the setting it belongs to.
type NamedSecretRef struct {
	// Path is the setting, such as helpdesk.connectwise.privateKey.
	Path string
	Ref  SecretRef
}

// SecretRefs lists every secret the configuration references, so that a
// caller can resolve them all at start-up and fail early.
func (c *Config) SecretRefs() []NamedSecretRef {
	all := map[string]bool{"helpdesk": true, "callbacks": true, "writeback": true}
	var out []NamedSecretRef
	for _, f := range secretFields(c, all) {
		out = append(out, NamedSecretRef{Path: dotted(f.ptr), Ref: *f.ref})
	}
	return out
}

// Hash returns a short hex digest of the normalised configuration (defaults
// applied, durations and list orders canonical), for the
// horizon_config_info{provider,hash} metric. Equal configurations written
// differently hash equally. It digests references, never secret values.
func (c *Config) Hash() string {
	data, err := json.Marshal(c)
	if err != nil { // cannot happen: every field marshals
		return "unknown"
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}
