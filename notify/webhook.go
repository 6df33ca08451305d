package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// userAgent identifies Auger to the destinations.
const userAgent = "auger"

// webhook posts events as JSON to any URL.
type webhook struct{ endpoint }

// NewWebhook returns a Notifier posting each Event as JSON (see the package
// documentation) to url with client (http.DefaultClient if nil), with the headers
// "User-Agent: auger" and "X-Auger-Event: <kind>".
func NewWebhook(url string, client *http.Client) Notifier {
	return webhook{newEndpoint("webhook", url, client)}
}

// Notify posts e as JSON.
func (w webhook) Notify(ctx context.Context, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%s: encode %s: %w", w, e.Kind, err)
	}
	return w.post(ctx, body, http.Header{
		"Content-Type":  {"application/json"},
		"User-Agent":    {userAgent},
		"X-Auger-Event": {string(e.Kind)},
	})
}
