module difftrace/platform

go 1.19
