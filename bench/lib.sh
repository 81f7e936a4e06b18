# Shared by bench/bench.sh and bench/instructions.sh (sourced): port checks and the origin's
# nginx http block.

# A TCP socket in LISTEN state (0A) on port $1, any address, IPv4 or IPv6.
port_listening() {
	awk -v p="$(printf '%04X' "$1")" '$4 == "0A" && substr($2, index($2, ":") + 1) == p { f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

wait_port() { # port seconds
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		port_listening "$1" && return 0
		sleep 0.1
	done
	return 1
}

# origin_http_block DIR PORT [LISTEN-OPTIONS]: the origin's http block, a tiny 200 body on
# keep-alive connections that never end, temp files under DIR/tmp.
origin_http_block() {
	cat <<EOB
http {
    access_log off;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    client_body_temp_path $1/tmp;
    proxy_temp_path $1/tmp;
    fastcgi_temp_path $1/tmp;
    uwsgi_temp_path $1/tmp;
    scgi_temp_path $1/tmp;
    server {
        listen 127.0.0.1:$2${3:+ $3};
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
EOB
}
