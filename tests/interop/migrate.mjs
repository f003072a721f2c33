// drizzle-orm's own migrator (node-postgres), as an app runs it at start-up:
//   DATABASE_URL=... node migrate.mjs FOLDER [SCHEMA] [TABLE]
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";

const [migrationsFolder, migrationsSchema = "drizzle", migrationsTable = "__drizzle_migrations"] =
  process.argv.slice(2);
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
try {
  await migrate(drizzle(client), { migrationsFolder, migrationsSchema, migrationsTable });
} finally {
  await client.end();
}
