/** The configuration file of the {@code backstop} command, parsed and checked before anything runs. */
package dev.backstop.cli.config;
