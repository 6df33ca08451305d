package githubfake

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// openapiJSON is GitHub's REST description cut to the operations Auger uses
// (scripts/vendor-github/vendor.sh writes it).
//
//go:embed testdata/openapi.json
var openapiJSON []byte

// spec is the parsed description and its router. Parsing takes a noticeable fraction of
// a second, so every Fake of the test binary shares one; neither is modified after load.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

// slashParams are path templates whose last parameter may contain slashes: go-github
// sends a file path ("contents/.auger/staging.yaml") and a ref ("git/ref/heads/main",
// "commits/refs/tags/v1") unescaped, and gorilla/mux matches one segment per variable unless told otherwise.
// The path may also be empty: "contents/" lists the root.
var slashParams = map[string]string{
	"/repos/{owner}/{repo}/contents/{path}": "/repos/{owner}/{repo}/contents/{path:.*}",
	"/repos/{owner}/{repo}/git/ref/{ref}":   "/repos/{owner}/{repo}/git/ref/{ref:.+}",
	// A full ref ("commits/refs/tags/v1", as GitHub takes it); the other commits/{ref}/...
	// operations keep theirs to one segment.
	"/repos/{owner}/{repo}/commits/{ref}": "/repos/{owner}/{repo}/commits/{ref:refs/.+|[^/]+}",
}

var loadSpec = sync.OnceValues(func() (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiJSON)
	if err != nil {
		return nil, fmt.Errorf("load vendored GitHub description: %w", err)
	}
	// No doc.Validate: GitHub's description has quirks kin-openapi's document validation
	// rejects (measured); request and response validation work regardless.
	for from, to := range slashParams {
		item := doc.Paths.Value(from)
		if item == nil {
			return nil, fmt.Errorf("vendored description lacks %s", from)
		}
		doc.Paths.Delete(from)
		doc.Paths.Set(to, item)
	}
	// The description's only server is https://api.github.com; the fake serves the same
	// paths at its own root, so match on path alone.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route vendored GitHub description: %w", err)
	}
	return &spec{doc: doc, router: router}, nil
})

// validationOptions are shared by request and response validation.
var validationOptions = func() *openapi3filter.Options {
	o := &openapi3filter.Options{
		// The fake checks credentials itself (auth.go); GitHub's description declares
		// no security schemes anyway.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Handlers must see what the client sent, not the description's defaults.
		SkipSettingDefaults: true,
		MultiError:          true,
	}
	o.WithCustomSchemaErrorFunc(schemaErrorMessage)
	return o
}()

// schemaErrorMessage keeps a schema violation to one line: where, why and (cut short)
// what was found, instead of kin-openapi's dump of the whole schema.
func schemaErrorMessage(err *openapi3.SchemaError) string {
	if err.Origin != nil {
		return "" // kin-openapi's own message is short in this case
	}
	value, _ := json.Marshal(err.Value)
	if len(value) > 120 {
		value = append(value[:117], "..."...)
	}
	return fmt.Sprintf("at %q: %s (got %s)", "/"+strings.Join(err.JSONPointer(), "/"), err.Reason, value)
}

// nullBodyOperations accept a JSON null body as if it were absent. ghinstallation
// encodes its nil *InstallationTokenOptions as "null" on every token request; GitHub
// accepts that, while the description's object schema would not.
var nullBodyOperations = map[string]bool{
	"apps/create-installation-access-token": true,
}

// validateRequest checks r (whose body is body, already stripped of the null quirk)
// against the route's operation. It returns a non-nil error describing every
// violation.
func validateRequest(ctx context.Context, r *http.Request, body []byte, route *routers.Route, params map[string]string) error {
	if route.Operation.OperationID == "repos/get-content" && params["path"] == "" {
		// GitHub lists the root for an empty path ("contents/", what go-github sends
		// for ""), while the description marks the path parameter required.
		params = map[string]string{"owner": params["owner"], "repo": params["repo"], "path": "."}
	}
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    validationOptions,
	}
	return openapi3filter.ValidateRequest(ctx, input)
}

// validateResponse checks a response the fake is about to send. Undocumented error
// statuses pass (GitHub's description omits many, e.g. 401 on most operations);
// undocumented success statuses do not, since clients branch on them.
func validateResponse(ctx context.Context, r *http.Request, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	if status < 300 && route.Operation.Responses.Status(status) == nil {
		return fmt.Errorf("status %d is not documented for %s", status, route.Operation.OperationID)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      route,
			Options:    validationOptions,
		},
		Status:  status,
		Header:  header,
		Options: validationOptions,
	}
	input.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(ctx, input)
}

// isParseError reports whether err says the body was not JSON at all, which GitHub
// answers with 400 "Problems parsing JSON" rather than 422.
func isParseError(err error) bool {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			if isParseError(e) {
				return true
			}
		}
		return false
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) && re.RequestBody != nil && strings.Contains(re.Reason, "failed to decode") {
		return true
	}
	return false
}

// docsURL is the documentation_url GitHub puts in error bodies for an operation.
func docsURL(route *routers.Route) string {
	if route != nil && route.Operation != nil && route.Operation.ExternalDocs != nil {
		return route.Operation.ExternalDocs.URL
	}
	return "https://docs.github.com/rest"
}
