// tests/s3rver-fix.js DIR: fixes a race in s3rver 3.7.1 (its last
// release), installed by tests/s3.sh into DIR/node_modules/s3rver.
//
// Its filesystem store answers a PutObject or UploadPart when the body
// has passed through its MD5 transform, not when the file under it is
// written: fs.WriteStream writes later, so a read or a CopyObject right
// after the answer can find the object short or empty (tests/t21 lost a
// 1,000-file sync's object this way in the S3-store pass under load; a
// probe of 2,000 8-way puts found 3 short files at the answer). Our S3
// adapter copies every upload out of .tmp/ as soon as its PUT returns,
// so it meets this race where real S3 has none. And a failed write (the
// ENOENT of tests/s3.sh) had no handler and took s3rver down.
//
// The fix answers on the WriteStream's 'finish' and rejects on its
// 'error'. It replaces exact text and fails if that text is not there,
// so another s3rver release cannot go through unfixed. Run twice, it
// finds the fix in place and changes nothing.
'use strict';
const fs = require('fs');
const path = require('path');

const file = path.join(process.argv[2], 'node_modules/s3rver/lib/stores/filesystem.js');
const MARK = '/* filestor: answers on write */';
let src = fs.readFileSync(file, 'utf8');
if (src.includes(MARK)) process.exit(0);

const fixes = [
  // putObject, a Buffer body
  [`        writeStream.end(object.content);
        md5Context.update(object.content);
        resolve([object.content.length, md5Context.digest('hex')]);`,
   `        md5Context.update(object.content);
        const md5 = md5Context.digest('hex');
        writeStream
          .on('error', reject)
          .on('finish', () => resolve([object.content.length, md5]));
        writeStream.end(object.content);`],
  // putObject, a stream body
  [`          .on('error', reject)
          .on('finish', () => resolve([totalLength, md5Context.digest('hex')]))
          .pipe(writeStream);`,
   `          .on('error', reject)
          .pipe(writeStream)
          .on('error', reject)
          .on('finish', () => resolve([totalLength, md5Context.digest('hex')]));`],
  // putPart
  [`        .on('error', reject)
        .on('finish', () => {
          resolve([totalLength, md5Context.digest('hex')]);
        })
        .pipe(writeStream);`,
   `        .on('error', reject)
        .pipe(writeStream)
        .on('error', reject)
        .on('finish', () => {
          resolve([totalLength, md5Context.digest('hex')]);
        });`],
];
for (const [from, to] of fixes) {
  const at = src.indexOf(from);
  if (at < 0 || src.indexOf(from, at + 1) >= 0) {
    console.error(`s3rver-fix: ${file}: not the text of s3rver 3.7.1:\n${from}`);
    process.exit(1);
  }
  src = src.replace(from, to);
}
fs.writeFileSync(file + '.new', `${MARK}\n${src}`);
fs.renameSync(file + '.new', file);
