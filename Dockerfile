# optin: one static binary with an embedded SQLite database.
# docker build -t optin . && docker run -p 8080:8080 -v optin-data:/data optin
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/optin ./cmd/optin \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/optin /usr/local/bin/optin
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
ENV OPTIN_ADDR=0.0.0.0:8080 \
    OPTIN_DB=/data/optin.db
EXPOSE 8080
# optin healthcheck GETs /healthz on OPTIN_ADDR (0.0.0.0 is reached on loopback): no curl in distroless.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/optin", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/optin"]
CMD ["serve"]
