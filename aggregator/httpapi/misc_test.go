package httpapi_test

import (
	"context"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"
)

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }
