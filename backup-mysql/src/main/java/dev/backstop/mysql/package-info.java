/** MySQL and MariaDB capture and binlog archiving. */
package dev.backstop.mysql;
