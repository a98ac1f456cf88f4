package sandbox

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
)

// Emulator is one PSA's emulator, ready to serve.
type Emulator interface {
	http.Handler
	// Provider returns the provider name (helpdesk.ConnectWise, ...).
	Provider() string
	// Env returns the environment variables, names to values, holding
	// the credentials the emulator accepts.
	Env() map[string]string
	// ConfigFragment returns a horizon.yaml `helpdesk:` block that points
	// at baseURL and references the variables in Env.
	ConfigFragment(baseURL string) string
	// Close stops background work (webhook deliveries).
	Close()
}

// Options are what every emulator is built from.
type Options struct {
	World  *World
	Faults *Faults // nil: no faults
	// DeliveryScale multiplies webhook retry delays (0: 1).
	DeliveryScale float64
	// DeliveryTransport sends the webhooks (nil: http.DefaultTransport);
	// a benchmark times the answers with it.
	DeliveryTransport http.RoundTripper
	Logger            *slog.Logger
}

// Factory builds an emulator.
type Factory func(Options) (Emulator, error)

var (
	regMu     sync.Mutex
	factories = map[string]Factory{}
)

// Register makes an emulator available to New; emulator packages call it
// from init.
func Register(provider string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	factories[provider] = f
}

// New builds the named provider's emulator.
func New(provider string, o Options) (Emulator, error) {
	regMu.Lock()
	f := factories[provider]
	regMu.Unlock()
	if f == nil {
		return nil, fmt.Errorf("sandbox: no emulator for provider %q (have %v)", provider, Registered())
	}
	if o.World == nil {
		o.World = Generate(GenOptions{})
	}
	if o.Faults == nil {
		o.Faults = NewFaults(1)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Faults.setClock(o.World.Now)
	return f(o)
}

// Registered lists the providers with an emulator.
func Registered() []string {
	regMu.Lock()
	defer regMu.Unlock()
	var out []string
	for k := range factories {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
