package exporttest

import (
	"strings"
	"testing"
)

// TestRefuseOutsideTestNamespaces checks that the helpers act only in a
// live namespace the test created.
func TestRefuseOutsideTestNamespaces(t *testing.T) {
	tests := []struct {
		name string
		ns   *Namespace
	}{
		{name: "nil", ns: nil},
		{name: "zero", ns: &Namespace{}},
		{name: "host-like name", ns: &Namespace{name: "default"}},
		{name: "not created here", ns: &Namespace{name: namespacePrefix + "0000000000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.ns.Run(t.Context(), nil, "true"); err == nil || !strings.Contains(err.Error(), "refused") {
				t.Errorf("Run() = %v, want a refusal", err)
			}
			ran := false
			if err := tc.ns.Do(func() error { ran = true; return nil }); err == nil || ran {
				t.Errorf("Do() = %v (ran %v), want a refusal", err, ran)
			}
		})
	}
}

// TestRefuseDeletedNamespace checks that a namespace is refused once the
// test that created it has deleted it.
func TestRefuseDeletedNamespace(t *testing.T) {
	var ns *Namespace
	t.Run("create", func(t *testing.T) {
		ns = NewNamespace(t)
		if _, err := ns.Run(t.Context(), nil, "true"); err != nil {
			t.Fatalf("Run(true) in a live test namespace = %v", err)
		}
	})
	if ns == nil {
		t.Skip("no namespace was created")
	}
	if _, err := ns.Run(t.Context(), nil, "true"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Run() after deletion = %v, want a refusal", err)
	}
}
