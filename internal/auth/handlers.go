package auth

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"codeberg.org/atelier/atelier/internal/httpapi"
)

// API serves token management to admins, the HTTP twin of `atelier token`.
type API struct{ Store *Store }

// List answers GET /api/tokens.
func (a API) List(w http.ResponseWriter, r *http.Request) error {
	list, err := a.Store.List(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []Token{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": list, "total": len(list)})
	return nil
}

// Create answers POST /api/tokens {"name": "...", "role": "animator"} with the new token's
// secret, shown this once.
func (a API) Create(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := httpapi.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Role == "" {
		in.Role = string(RoleAnimator)
	}
	role, err := ParseRole(in.Role)
	if err != nil {
		return err
	}
	secret, t, err := a.Store.Create(r.Context(), in.Name, role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, struct {
		Token
		Secret string `json:"token"`
	}{t, secret})
	return nil
}

// Revoke answers DELETE /api/tokens/{id}.
func (a API) Revoke(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return httpapi.Invalid("id", "a token id is a whole number (see GET /api/tokens)")
	}
	if err := a.Store.Revoke(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
