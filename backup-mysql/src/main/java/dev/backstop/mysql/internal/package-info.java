/**
 * Implementation shared by the MariaDB packages of this module (logical, physical, binlog): the
 * private option file that carries connection settings to the tools. Not exported.
 */
package dev.backstop.mysql.internal;
