package sandbox

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// RetryPolicy is a PSA's webhook retry behaviour.
type RetryPolicy struct {
	// Timeout bounds one attempt (ConnectWise 5 s, Autotask 10 s, Zoho 5 s).
	Timeout time.Duration
	// Delays are the waits before each retry; len(Delays)+1 attempts in
	// all (Autotask: 4 × 30 s; ConnectWise: 2 s, 4 s).
	Delays []time.Duration
	// RetryOn says whether a failed attempt is retried; nil retries any
	// non-2xx answer or transport error. (ConnectWise retries only 404,
	// 409, 419 and 429.)
	RetryOn func(status int, err error) bool
}

// Delivery is one webhook POST to make.
type Delivery struct {
	URL    string
	Header http.Header
	Body   []byte
	Policy RetryPolicy
	// OnResult, when set, is told the final outcome (status 0 when no
	// answer); an emulator uses it to count consecutive failures and
	// disable or delete a registration as its PSA does.
	OnResult func(status int, err error)
}

// DeliveryRecord is the outcome of one delivery, for tests and the
// sandbox's own status.
type DeliveryRecord struct {
	URL       string
	Body      []byte
	Attempts  int
	Status    int // last answer's status, 0 when none
	Err       string
	Dropped   bool // dropped by fault injection
	Delivered bool // a 2xx was received
	At        time.Time
}

// Deliverer sends webhooks in the background with a PSA's retry policy.
// Close stops it; deliveries in progress are abandoned.
type Deliverer struct {
	client *http.Client
	faults *Faults
	// Scale multiplies every retry delay (tests use a small value).
	scale   float64
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	records []DeliveryRecord
}

// NewDeliverer returns a running Deliverer with o's faults (may be nil),
// retry delay scale (0 means 1) and transport.
func NewDeliverer(o Options) *Deliverer {
	scale := o.DeliveryScale
	if scale == 0 {
		scale = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Deliverer{client: &http.Client{Transport: o.DeliveryTransport}, faults: o.Faults, scale: scale, ctx: ctx, cancel: cancel}
}

// Send queues a delivery.
func (d *Deliverer) Send(del Delivery) {
	if d.faults != nil && d.faults.DropWebhook() {
		d.record(DeliveryRecord{URL: del.URL, Body: del.Body, Dropped: true, At: time.Now()})
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.deliver(del)
	}()
}

func (d *Deliverer) deliver(del Delivery) {
	rec := DeliveryRecord{URL: del.URL, Body: del.Body}
	var status int
	var err error
	for attempt := 0; ; attempt++ {
		rec.Attempts = attempt + 1
		status, err = d.post(del)
		if err == nil && status >= 200 && status < 300 {
			rec.Delivered = true
			break
		}
		retry := del.Policy.RetryOn == nil || del.Policy.RetryOn(status, err)
		if !retry || attempt >= len(del.Policy.Delays) {
			break
		}
		t := time.NewTimer(time.Duration(float64(del.Policy.Delays[attempt]) * d.scale))
		select {
		case <-d.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	rec.Status, rec.At = status, time.Now()
	if err != nil {
		rec.Err = err.Error()
	}
	d.record(rec)
	if del.OnResult != nil {
		del.OnResult(status, err)
	}
}

func (d *Deliverer) post(del Delivery) (int, error) {
	ctx := d.ctx
	if del.Policy.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, del.Policy.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(del.Body))
	if err != nil {
		return 0, err
	}
	for k, v := range del.Header {
		req.Header[k] = slices.Clone(v)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	return res.StatusCode, nil
}

func (d *Deliverer) record(r DeliveryRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.records = append(d.records, r)
}

// Records returns finished deliveries, oldest first.
func (d *Deliverer) Records() []DeliveryRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.records)
}

// Close abandons pending deliveries and waits for their goroutines.
func (d *Deliverer) Close() {
	d.cancel()
	d.wg.Wait()
}
