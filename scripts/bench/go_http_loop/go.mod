module go_http_loop

go 1.19
