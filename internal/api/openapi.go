package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3 document of the API. docs/openapi.json is a
// copy, held identical by TestOpenAPIDocsCopy.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document that describes the API.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

func (s *Server) getOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	_, err := w.Write(openAPI)
	return err
}
