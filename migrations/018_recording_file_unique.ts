// Each recording's file is its own (a node's hand-over never renames over
// another row's file): recordings.file is unique. A file two rows named
// before (only a hostile node's `paired` could) stays with the row that began
// first; the others are pointed at a name no file has, so they read as
// missing rather than as someone else's recording.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  const shared = (await knex('recordings').select('file').groupBy('file').havingRaw('count(*) > 1')) as { file: string }[];
  for (const { file } of shared) {
    const rows = (await knex('recordings').where({ file }).orderBy([{ column: 'started_at' }, { column: 'id' }]).select('id')) as { id: string }[];
    for (const { id } of rows.slice(1)) await knex('recordings').where({ id }).update({ file: `${file}.not-its-own-${id}` });
  }
  await knex.schema.alterTable('recordings', (t) => {
    t.unique(['file'], { indexName: 'recordings_file_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.dropUnique(['file'], 'recordings_file_unique');
  });
}
