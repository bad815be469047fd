#!/usr/bin/env bash
# Database pulls read from MySQL/MariaDB: the tests need a MariaDB server
# on 127.0.0.1:3306 where root connects without a password (each test run
# creates its own database there, calgate_test_<random>, and drops it).
# Installs Debian's mariadb-server when missing and starts it when it is
# not running. Idempotent; sourced by scripts/test from the repository
# root, so it exports the variable the tests read.

mysql_setup_answers() {
	mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1
}

mysql_setup_main() {
	if ! mysql_setup_answers; then
		if [ ! -x /usr/sbin/mariadbd ]; then
			if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server mariadb-client >/dev/null 2>&1; then
				apt-get update >/dev/null &&
					DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mariadb-server mariadb-client >/dev/null ||
					{ echo "setup-mysql: cannot install mariadb-server" >&2; return 1; }
			fi
		fi
		mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
		if [ ! -d /var/lib/mysql/mysql ]; then
			mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null 2>&1 ||
				{ echo "setup-mysql: cannot initialise /var/lib/mysql" >&2; return 1; }
		fi
		start-stop-daemon --start --oknodo --background --chuid mysql \
			--exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1 --port=3306 ||
			{ echo "setup-mysql: cannot start mariadbd" >&2; return 1; }
		for _ in $(seq 1 60); do
			mysql_setup_answers && break
			sleep 1
		done
		if ! mysql_setup_answers; then
			echo "setup-mysql: MariaDB does not answer on 127.0.0.1:3306" >&2
			return 1
		fi
	fi
	# root over TCP without a password, as the tests connect (Debian's
	# root otherwise authenticates by unix socket only).
	if ! mysql --protocol=tcp -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; then
		mysql -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;" >/dev/null 2>&1 ||
			{ echo "setup-mysql: cannot let root connect over TCP" >&2; return 1; }
	fi
	export CALGATE_TEST_MYSQL_URL="${CALGATE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/}"
}

mysql_setup_main
