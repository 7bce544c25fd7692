// Command ferretdb runs FerretDB v1 (MongoDB wire protocol over SQLite, or over PostgreSQL with
// -postgresql) for Modelyard's tests and soak,
// through FerretDB's embeddable package: `go install .../cmd/ferretdb@v1.24.x` builds a binary
// that panics at start (its module lacks build/version/version.txt), which the embeddable
// package does not check.
//
// Usage: ferretdb -listen 127.0.0.1:27017 -data ./dir
//
//	ferretdb -listen 127.0.0.1:27017 -postgresql postgres://127.0.0.1:5432/ferretdb
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	data := flag.String("data", "ferretdb-data", "SQLite data directory")
	postgresql := flag.String("postgresql", "", "PostgreSQL URL: store there instead of in SQLite")
	flag.Parse()
	config := ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if *postgresql != "" {
		config.Handler = "postgresql"
		config.PostgreSQLURL = *postgresql
	} else {
		if err := os.MkdirAll(*data, 0o700); err != nil {
			log.Fatal(err)
		}
		config.Handler = "sqlite"
		config.SQLiteURL = "file:" + *data + "/"
	}
	f, err := ferretdb.New(&config)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Println(f.MongoDBURI())
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
